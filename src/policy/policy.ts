import type { CompiledRule } from './rule.ts';
import type { ToolClasses } from './tool-class.ts';

/** A compiled policy: part of the snapshot, immutable, shared by every exchange under it. */
export interface CompiledPolicy {
  /** Effect of a call no rule matches. */
  readonly defaultEffect: 'allow' | 'deny';
  /** The whole policy decides and records but does not enforce. */
  readonly shadow: boolean;
  /** Default zone of time windows and of `now` in conditions. */
  readonly zone: string;
  readonly environment: string | undefined;
  readonly rules: readonly CompiledRule[];
  readonly hasShadowRules: boolean;
  readonly classes: ToolClasses;
  /** Rules whose target matchers pass, per method and target: filled on first use (candidates.ts). */
  readonly candidates: Map<string, readonly CompiledRule[]>;
}

import type { Principal } from '../pipeline/principal.ts';

/** What a rule does when it matches. Deny overrides require_approval, which overrides allow. */
export type Effect = 'allow' | 'deny' | 'require_approval';

export const TOOL_CLASSES = ['read_only', 'low_risk_write', 'high_risk_write'] as const;
/** How much harm a tool can do; set per tool or glob in config, seeded by annotations of trusted upstreams. */
export type ToolClass = (typeof TOOL_CLASSES)[number];

/** What is being reached: the public name agents use, and where it lives. */
export interface PolicyTarget {
  readonly kind: 'tool' | 'prompt' | 'resource';
  readonly upstream: string | undefined;
  /** Public tool or prompt name; resource URI (or URI template when a template is listed). */
  readonly name: string;
  /** The upstream's own name for it, when known. */
  readonly upstreamName?: string | undefined;
  /** Tools only. */
  readonly class?: ToolClass | undefined;
  /** Tool annotations, only from upstreams marked trusted (anything else could lie its way into an allow). */
  readonly annotations?: Readonly<Record<string, unknown>> | undefined;
}

/** Everything one decision looks at. Built once per exchange, or once per listed item. */
export interface PolicyInput {
  readonly principal: Principal;
  /** The MCP method, e.g. `tools/call`; listing asks as if for the call the item would take. */
  readonly method: string;
  readonly target: PolicyTarget;
  /** Call arguments; `undefined` when they are not known (listing). */
  readonly args: Readonly<Record<string, unknown>> | undefined;
  readonly environment: string | undefined;
  readonly clientAddress: string | undefined;
  /** Epoch milliseconds of the decision. */
  readonly now: number;
}

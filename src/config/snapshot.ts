import type { Filter } from '../pipeline/filter.ts';
import type { CompiledAuth } from '../identity/compile-auth.ts';
import type { CompiledPolicy } from '../policy/policy.ts';
import type { ToolClasses } from '../policy/tool-class.ts';
import type { Redaction } from '../audit/redact.ts';
import type { CompiledTraffic } from '../traffic/limits/types.ts';
import type { NamingRules } from '../catalog/naming.ts';
import type { GatehouseConfig } from './schema/root.ts';
import type { UpstreamConfig } from './schema/upstream.ts';

export interface CompiledUpstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  /** Digest of everything that shapes the connection: equal identity means a reload keeps it running. */
  readonly identity: string;
  /** undefined when names pass through unprefixed. */
  readonly prefix: string | undefined;
  /** Folder of the config file: relative paths in the upstream's config resolve against it. */
  readonly dir: string;
}

/**
 * Everything one exchange needs from configuration, compiled once and frozen. An exchange keeps the
 * snapshot it arrived with; a reload builds a whole new one and swaps it in atomically.
 * Stateful things (connections, processes, sessions) live outside, keyed by identity.
 */
export interface Snapshot {
  readonly generation: number;
  readonly file: string;
  readonly dir: string;
  readonly config: Readonly<GatehouseConfig>;
  readonly upstreams: readonly CompiledUpstream[];
  readonly upstreamByName: ReadonlyMap<string, CompiledUpstream>;
  readonly naming: NamingRules;
  /** Request filters sorted by phase, config order within a phase. */
  readonly filters: readonly Filter[];
  /** Each listener's authentication methods, in the order tried. */
  readonly auth: CompiledAuth;
  /** The compiled `policy` section; undefined without one (every authenticated caller may use everything). */
  readonly policy: CompiledPolicy | undefined;
  /** Tool classes (the policy's, or the defaults when there is no policy): audit and limits read them too. */
  readonly toolClasses: ToolClasses;
  /** What the audit trail needs per exchange, compiled: redaction of arguments and results. */
  readonly audit: { readonly redaction: Redaction };
  /** The compiled `traffic` limits (frozen; their counters live in the gateway); undefined without any limit. */
  readonly traffic: CompiledTraffic | undefined;
}

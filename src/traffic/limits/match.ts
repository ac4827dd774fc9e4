import type { KeyDimension } from '../../config/schema/traffic.ts';
import type { Exchange } from '../../pipeline/exchange.ts';
import { TARGET_DEF, type Target } from '../../pipeline/target.ts';
import type { CallMatch, CompiledLimit, Counted } from './types.ts';

/**
 * What limits look at in one call, gathered once: the tool class is worked out only when a limit asks
 * for it (a class lookup is cheap, but a call no limit applies to should not pay even that).
 */
export class CallFacts {
  readonly x: Exchange;
  readonly target: Target;
  #cls: string | undefined = undefined;

  constructor(x: Exchange, target: Target) {
    this.x = x;
    this.target = target;
  }

  /** The tool class of a tool; for other targets their kind (prompt, resource, completion). */
  get cls(): string {
    if (this.#cls === undefined) {
      const t = this.target;
      this.#cls = t.kind === 'tool' ? this.x.snapshot.toolClasses.classOf(t.upstream, t.upstreamName, t[TARGET_DEF]) : t.kind;
    }
    return this.#cls;
  }
}

export function matches(m: CallMatch, f: CallFacts): boolean {
  const p = f.x.principal;
  const t = f.target;
  if (m.methods !== undefined && !m.methods.has(f.x.method)) return false;
  if (m.upstreams !== undefined && !m.upstreams.test(t.upstream!)) return false;
  if (m.agents !== undefined && !m.agents.test(p.agent)) return false;
  if (m.tenants !== undefined && (p.tenant === undefined || !m.tenants.test(p.tenant))) return false;
  if (m.users !== undefined && (p.user === undefined || !m.users.test(p.user))) return false;
  if (m.roles !== undefined && !p.roles.some((r) => m.roles!.has(r))) return false;
  if (m.tools !== undefined && (t.kind !== 'tool' || t.name === undefined || !m.tools.test(t.name))) return false;
  if (m.classes !== undefined && (t.kind !== 'tool' || !m.classes.has(f.cls))) return false;
  return true;
}

/** The figures a call is held to under `l`: the first matching override's, else the limit's own; undefined when unlimited. */
export function countedFor(l: CompiledLimit, f: CallFacts): Counted | undefined {
  for (let i = 0; i < l.overrides.length; i++) {
    const o = l.overrides[i]!;
    if (matches(o.match, f)) return o.counted;
  }
  return l.own;
}

/**
 * The counter key: the counters' tag, then each key part. Parts are escaped (`%` and `:`), so no
 * value can make two callers' keys equal, and every key of one tag has the same number of parts.
 */
export function counterKey(tag: string, dims: readonly KeyDimension[], f: CallFacts): string {
  let key = tag;
  for (let i = 0; i < dims.length; i++) key += `:${esc(part(dims[i]!, f))}`;
  return key;
}

function part(d: KeyDimension, f: CallFacts): string {
  const p = f.x.principal;
  switch (d) {
    case 'tenant':
      return p.tenant ?? '';
    case 'agent':
      return p.agent;
    case 'user':
      return p.user ?? '';
    case 'upstream':
      return f.target.upstream ?? '';
    case 'tool':
      return f.target.name ?? '';
    case 'class':
      return f.cls;
  }
}

function esc(s: string): string {
  return s.includes(':') || s.includes('%') ? s.replace(/%/g, '%25').replace(/:/g, '%3A') : s;
}

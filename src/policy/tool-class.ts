import type { UpstreamConfig } from '../config/schema/upstream.ts';
import { compileGlobs, type GlobSet } from './glob.ts';
import type { ToolClass } from './types.ts';

type Def = Readonly<Record<string, unknown>>;

/** Tool classes and trusted annotations, compiled once per snapshot. */
export interface ToolClasses {
  classOf(upstream: string | undefined, upstreamName: string | undefined, def: Def | undefined): ToolClass;
  /** The tool's annotations when its upstream is trusted; otherwise undefined (policy ignores them). */
  annotationsOf(upstream: string | undefined, def: Def | undefined): Readonly<Record<string, unknown>> | undefined;
}

interface UpstreamClasses {
  readonly trusted: boolean;
  readonly entries: readonly { readonly match: GlobSet; readonly cls: ToolClass }[];
}

/**
 * MCP's own reading of annotations: `readOnlyHint` means no side effects; otherwise `destructiveHint`
 * defaults to true, so only an explicit `destructiveHint: false` makes a low-risk write.
 */
function fromAnnotations(a: Record<string, unknown>): ToolClass | undefined {
  if (a.readOnlyHint === true) return 'read_only';
  if (a.destructiveHint === false) return 'low_risk_write';
  if (a.destructiveHint === true || a.readOnlyHint === false) return 'high_risk_write';
  return undefined;
}

function annotations(def: Def | undefined): Record<string, unknown> | undefined {
  const a = def?.annotations;
  return typeof a === 'object' && a !== null && !Array.isArray(a) ? (a as Record<string, unknown>) : undefined;
}

export function compileToolClasses(upstreams: readonly UpstreamConfig[], fallback: ToolClass): ToolClasses {
  const by = new Map<string, UpstreamClasses>();
  for (const u of upstreams) {
    by.set(u.name, {
      trusted: u.trusted,
      entries: Object.entries(u.toolClasses).map(([glob, cls]) => ({ match: compileGlobs([glob]), cls })),
    });
  }
  // Definitions are immutable catalog objects: their class is worked out once per snapshot.
  const memo = new WeakMap<Def, ToolClass>();
  const classOf = (upstream: string | undefined, upstreamName: string | undefined, def: Def | undefined): ToolClass => {
    if (def !== undefined) {
      const hit = memo.get(def);
      if (hit !== undefined) return hit;
    }
    const u = upstream === undefined ? undefined : by.get(upstream);
    let cls: ToolClass | undefined;
    if (u !== undefined && upstreamName !== undefined) {
      for (const e of u.entries) {
        if (e.match.test(upstreamName)) {
          cls = e.cls;
          break;
        }
      }
    }
    if (cls === undefined && u?.trusted === true) {
      const a = annotations(def);
      if (a !== undefined) cls = fromAnnotations(a);
    }
    cls ??= fallback;
    if (def !== undefined) memo.set(def, cls);
    return cls;
  };
  return {
    classOf,
    annotationsOf: (upstream, def) => (upstream !== undefined && by.get(upstream)?.trusted === true ? annotations(def) : undefined),
  };
}

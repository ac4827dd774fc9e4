import type { UpstreamConfig } from '../../config/schema/upstream.ts';
import { compileGlobs, isGlob } from '../../policy/glob.ts';
import type { ToolClass } from '../../policy/types.ts';

export interface CacheConfigIssue {
  /** From the config root, e.g. `['upstreams', 0, 'cache', 'tools', 'get_*']`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * `cache.tools` entries that can never take effect, because only tools classed `read_only` at call
 * time are cached (the class is checked on every call as well: annotations of trusted upstreams can
 * change with the tool list). An entry is refused when
 * - the `toolClasses` entry that decides its tools (the first, in written order, that covers every
 *   name the entry matches) classes them as a write; or
 * - nothing can class its tools `read_only`: no `toolClasses` entry that may match them says so, the
 *   upstream is not `trusted` (so annotations do not count), and the default class is not `read_only`.
 * Where overlapping globs leave it open (some of the entry's tools may be read-only), it is allowed.
 * `defaultClass` is `policy.defaultToolClass`, or `high_risk_write` without a policy.
 */
export function cacheConfigIssues(upstreams: readonly UpstreamConfig[], defaultClass: ToolClass): CacheConfigIssue[] {
  const issues: CacheConfigIssue[] = [];
  upstreams.forEach((u, i) => {
    const classes = Object.entries(u.toolClasses);
    for (const glob of Object.keys(u.cache.tools)) {
      const path = ['upstreams', i, 'cache', 'tools', glob];
      const decided = decidingEntry(classes, glob);
      if (decided !== undefined && decided[1] !== 'read_only') {
        issues.push({ path, message: `"${glob}" is classed ${decided[1]} by toolClasses "${decided[0]}"; only read_only tools are cached` });
        continue;
      }
      if (decided !== undefined || u.trusted || defaultClass === 'read_only') continue;
      if (!classes.some(([g, cls]) => cls === 'read_only' && mayOverlap(g, glob))) {
        issues.push({ path, message: `"${glob}" can never be classed read_only, so it would never be cached: class it read_only in toolClasses (or mark the upstream trusted so that readOnlyHint counts)` });
      }
    }
  });
  return issues;
}

/** The toolClasses entry that surely decides every name `glob` matches, when one can be told. */
function decidingEntry(classes: readonly [string, ToolClass][], glob: string): [string, ToolClass] | undefined {
  for (const e of classes) {
    if (covers(e[0], glob)) return e;
    // An earlier entry that may take some of the names leaves the outcome open.
    if (mayOverlap(e[0], glob)) return undefined;
  }
  return undefined;
}

/** Whether every name `inner` matches is matched by `outer` (decided for the shapes configs use; false when unsure). */
function covers(outer: string, inner: string): boolean {
  if (outer === '*' || outer === inner) return true;
  if (!isGlob(inner)) return compileGlobs([outer]).test(inner);
  const head = literalHead(inner);
  const tail = literalTail(inner);
  if (outer.endsWith('*') && !isGlob(outer.slice(0, -1))) return head.startsWith(outer.slice(0, -1));
  if (outer.startsWith('*') && !isGlob(outer.slice(1))) return tail.endsWith(outer.slice(1));
  return false;
}

/** Whether some name may match both globs: false only when surely not. */
function mayOverlap(a: string, b: string): boolean {
  if (!isGlob(a)) return compileGlobs([b]).test(a);
  if (!isGlob(b)) return compileGlobs([a]).test(b);
  // Both globs: disjoint when their literal heads (or tails) disagree.
  const ha = literalHead(a);
  const hb = literalHead(b);
  if (!ha.startsWith(hb) && !hb.startsWith(ha)) return false;
  const ta = literalTail(a);
  const tb = literalTail(b);
  return ta.endsWith(tb) || tb.endsWith(ta);
}

function literalHead(g: string): string {
  const i = g.search(/[*?]/);
  return i < 0 ? g : g.slice(0, i);
}

function literalTail(g: string): string {
  let i = g.length;
  while (i > 0 && g[i - 1] !== '*' && g[i - 1] !== '?') i--;
  return g.slice(i);
}

import { createHash } from 'node:crypto';
import { configProblem, type ConfigProblem } from '../../config/errors.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { DURATION_PATTERN, LIMITED_METHODS, type CountersConfig, type LimitConfig, type LimitMatchConfig, type LimitOverrideConfig } from '../../config/schema/traffic.ts';
import { compileGlobs, isGlob } from '../../policy/glob.ts';
import type { CallMatch, CompiledLimit, CompiledOverride, CompiledRate, CompiledTraffic, Counted, Figures } from './types.ts';

type Path = readonly (string | number)[];
type FigureFields = Pick<LimitConfig, 'rate' | 'quota' | 'concurrency' | 'queue'>;

const NONE: readonly CompiledLimit[] = Object.freeze([]);
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Compiles `traffic` into matchers, figures and an index by method and upstream, once per snapshot.
 * Undefined when no limit is configured (then no admit filter runs at all). Every mistake is placed at
 * its file:line:column; nothing half-compiled serves.
 */
export function compileTraffic(loaded: LoadedConfig, problems: ConfigProblem[]): CompiledTraffic | undefined {
  const cfg = loaded.config.traffic;
  if (cfg === undefined || cfg.limits.length === 0) return undefined;
  const before = problems.length;
  const upstreams = new Set(loaded.config.upstreams.map((u) => u.name));
  const names = new Map<string, number>();
  const limits: CompiledLimit[] = [];
  cfg.limits.forEach((l, i) => {
    const at = (...p: Path): Path => ['traffic', 'limits', i, ...p];
    const problem = (path: Path, message: string) => problems.push(configProblem(loaded, path, `limit "${l.name}": ${message}`));
    const first = names.get(l.name);
    if (first !== undefined) problems.push(configProblem(loaded, at('name'), `duplicate limit name "${l.name}" (first at traffic.limits[${first}])`));
    else names.set(l.name, i);
    const match = compileMatch(l.match, at('match'), upstreams, problem);
    if (l.rate === undefined && l.quota === undefined && l.concurrency === undefined) {
      problem(at(), 'sets none of rate, quota or concurrency, so it would limit nothing');
    }
    checkQueue(l, l, at('queue'), problem);
    const overrides = l.overrides.map((o, j) => compileOverride(l, o, j, at('overrides', j), upstreams, problem));
    limits.push(Object.freeze({ name: l.name, index: i, match, key: Object.freeze([...new Set(l.key)]), own: counted(l.name, l), overrides: Object.freeze(overrides) }));
  });
  if (problems.length > before) return undefined;
  const { index, byMethod } = indexLimits(limits, [...upstreams]);
  return Object.freeze({ counters: cfg.counters, countersIdentity: countersIdentity(cfg.counters), limits: Object.freeze(limits), index, byMethod });
}

function compileOverride(l: LimitConfig, o: LimitOverrideConfig, j: number, at: Path, upstreams: ReadonlySet<string>, problem: (p: Path, m: string) => void): CompiledOverride {
  const match = compileMatch(o.match, [...at, 'match'], upstreams, problem);
  const sets = o.rate !== undefined || o.quota !== undefined || o.concurrency !== undefined || o.queue !== undefined;
  if (o.unlimited === true) {
    if (sets) problem([...at, 'unlimited'], `override ${j + 1}: unlimited: true takes no rate, quota, concurrency or queue`);
    return Object.freeze({ match, counted: undefined });
  }
  if (!sets) problem(at, `override ${j + 1} sets none of rate, quota, concurrency, queue or unlimited`);
  // An override replaces the figures it gives and keeps the limit's others.
  const merged: FigureFields = { rate: o.rate ?? l.rate, quota: o.quota ?? l.quota, concurrency: o.concurrency ?? l.concurrency, queue: o.queue ?? l.queue };
  checkQueue(merged, o, [...at, 'queue'], problem);
  return Object.freeze({ match, counted: counted(`${l.name}#${j + 1}`, merged) });
}

/**
 * A queue holds calls waiting for a token or a slot: with neither, nothing would ever take them out.
 * Reported where the queue is written (`own`): an override cannot take the limit's rate or concurrency away.
 */
function checkQueue(f: FigureFields, own: FigureFields, at: Path, problem: (p: Path, m: string) => void): void {
  if (f.queue !== undefined && f.rate === undefined && f.concurrency === undefined && own.queue !== undefined) {
    problem(at, 'queue needs rate or concurrency to wait for (a quota never frees up before its period ends)');
  }
}

function compileMatch(m: LimitMatchConfig, at: Path, upstreams: ReadonlySet<string>, problem: (p: Path, msg: string) => void): CallMatch {
  m.upstreams?.forEach((u, k) => {
    if (!isGlob(u) && !upstreams.has(u)) problem([...at, 'upstreams', k], `no upstream is named "${u}"`);
  });
  if ((m.tools !== undefined || m.classes !== undefined) && m.methods !== undefined && !m.methods.includes('tools/call')) {
    problem([...at, 'methods'], 'can never match: tools and classes are only called through tools/call');
  }
  const globs = (g: readonly string[] | undefined) => (g === undefined ? undefined : compileGlobs(g));
  const set = (s: readonly string[] | undefined) => (s === undefined ? undefined : new Set(s));
  // Naming tools or classes restricts a match to tool calls.
  const methods = m.tools !== undefined || m.classes !== undefined ? ['tools/call'] : m.methods;
  return Object.freeze({
    tenants: globs(m.tenants),
    agents: globs(m.agents),
    users: globs(m.users),
    roles: set(m.roles),
    upstreams: globs(m.upstreams),
    tools: globs(m.tools),
    classes: set(m.classes),
    methods: set(methods),
  });
}

function counted(tag: string, f: FigureFields): Counted {
  const figures: Figures = Object.freeze({
    rate: f.rate === undefined ? undefined : compileRate(f.rate),
    quota: f.quota === undefined ? undefined : Object.freeze({ limit: f.quota.limit, per: f.quota.per }),
    concurrency: f.concurrency,
    queue: f.queue === undefined ? undefined : Object.freeze({ size: f.queue.size, maxWaitMs: f.queue.maxWaitMs }),
  });
  return Object.freeze({ tag, figures });
}

function compileRate(r: NonNullable<LimitConfig['rate']>): CompiledRate {
  const perMs = durationMs(r.per);
  const burst = r.burst ?? r.tokens;
  const intervalMs = perMs / r.tokens;
  return Object.freeze({ tokens: r.tokens, perMs, burst, intervalMs, capacityMs: intervalMs * burst });
}

/** `1s` → 1000. The schema has checked the shape. */
export function durationMs(text: string): number {
  const m = DURATION_PATTERN.exec(text);
  if (m === null) throw new TypeError(`not a duration: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

function indexLimits(limits: readonly CompiledLimit[], upstreams: readonly string[]): Pick<CompiledTraffic, 'index' | 'byMethod'> {
  const index = new Map<string, Map<string, readonly CompiledLimit[]>>();
  const byMethod = new Map<string, readonly CompiledLimit[]>();
  for (const method of LIMITED_METHODS) {
    const forMethod = limits.filter((l) => l.match.methods === undefined || l.match.methods.has(method));
    byMethod.set(method, Object.freeze(forMethod));
    const perUpstream = new Map<string, readonly CompiledLimit[]>();
    for (const u of upstreams) {
      const list = forMethod.filter((l) => l.match.upstreams === undefined || l.match.upstreams.test(u));
      perUpstream.set(u, list.length === 0 ? NONE : Object.freeze(list));
    }
    index.set(method, perUpstream);
  }
  return { index, byMethod };
}

/** Only what shapes the store counts: the failure mode and the figures may change without losing a count. */
function countersIdentity(c: CountersConfig): string {
  if (c.kind === 'memory') return 'memory';
  // Hashed: the URL may carry a password, and identities end up in logs and statistics.
  return `redis:${createHash('sha256').update(JSON.stringify([c.url, c.keyPrefix, c.timeoutMs])).digest('hex').slice(0, 16)}`;
}

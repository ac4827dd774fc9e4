// Reading what `conformance server -o DIR` wrote, and judging it against the requirement set and the
// expected-failures baseline. Scoring follows the conformance CLI's own: a scenario fails when one of
// its checks has status FAILURE; WARNING (a SHOULD) is reported but does not fail it.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const REQUIREMENT_SETS = ['2025-11-25', '2026-07-28'] as const;
export type RequirementSet = (typeof REQUIREMENT_SETS)[number];

export interface Check {
  id: string;
  name?: string;
  description?: string;
  status: string;
  errorMessage?: string;
}

export interface ScenarioResult {
  scenario: string;
  checks: Check[];
}

export interface Tally {
  passed: number;
  failed: number;
  warnings: number;
}

/** `server-<scenario>-<ISO time with dashes>`: the folder the CLI writes per scenario run. */
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

export function readResults(dir: string): ScenarioResult[] {
  if (!existsSync(dir)) return [];
  const out: ScenarioResult[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const m = entry.isDirectory() ? RESULT_DIR.exec(entry.name) : null;
    if (m === null) continue;
    const file = join(dir, entry.name, 'checks.json');
    if (!existsSync(file)) continue;
    const checks: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!Array.isArray(checks)) throw new Error(`${file}: expected a JSON array of checks`);
    out.push({ scenario: m[1]!, checks: checks as Check[] });
  }
  return out;
}

/** The scenarios a requirement set scores, from the suite's own frozen requirements file. */
export function scoredScenarios(requirementsDir: string, set: RequirementSet): Set<string> {
  const doc = parse(readFileSync(join(requirementsDir, `${set}.yaml`), 'utf8')) as { server?: unknown };
  if (!Array.isArray(doc.server)) throw new Error(`${set}.yaml in ${requirementsDir} has no server list`);
  return new Set(doc.server.map(String));
}

export function tally(checks: readonly Check[]): Tally {
  const t = { passed: 0, failed: 0, warnings: 0 };
  for (const c of checks) {
    if (c.status === 'SUCCESS') t.passed++;
    else if (c.status === 'FAILURE') t.failed++;
    else if (c.status === 'WARNING') t.warnings++;
  }
  return t;
}

export const failing = (r: ScenarioResult): Check[] => r.checks.filter((c) => c.status === 'FAILURE');

// --- the baseline ---------------------------------------------------------------------------------

/** A whole scenario expected to fail, or one check of it (`scenario:check-id`, as the CLI writes it). */
export interface BaselineEntry {
  scenario: string;
  checkId?: string;
}

export type Baseline = Record<RequirementSet, BaselineEntry[]>;

/**
 * The conformance CLI's expected-failures format (`server:` list of `scenario` or
 * `scenario:check-id`), once per requirement set, because one scenario can fail in one set and pass
 * in the other.
 */
export function parseBaseline(text: string, file: string): Baseline {
  const doc: unknown = parse(text);
  const out: Baseline = { '2025-11-25': [], '2026-07-28': [] };
  if (doc === null || doc === undefined) return out;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${file}: expected a mapping keyed by requirement set (${REQUIREMENT_SETS.join(', ')})`);
  for (const [set, section] of Object.entries(doc)) {
    if (!(REQUIREMENT_SETS as readonly string[]).includes(set)) throw new Error(`${file}: unknown requirement set ${JSON.stringify(set)} (use ${REQUIREMENT_SETS.join(', ')})`);
    if (section === null) continue;
    if (typeof section !== 'object' || Array.isArray(section)) throw new Error(`${file}: ${set} must be a mapping with a server: list`);
    for (const key of Object.keys(section)) if (key !== 'server') throw new Error(`${file}: ${set}.${key}: only server: is used here`);
    const list: unknown = (section as { server?: unknown }).server;
    if (list === null || list === undefined) continue;
    if (!Array.isArray(list)) throw new Error(`${file}: ${set}.server must be a list of scenario names`);
    const entries = list.map((item: unknown): BaselineEntry => {
      if (typeof item !== 'string' || item === '') throw new Error(`${file}: ${set}.server: ${JSON.stringify(item)} is not 'scenario' or 'scenario:check-id'`);
      const colon = item.indexOf(':');
      if (colon === -1) return { scenario: item };
      const scenario = item.slice(0, colon);
      const checkId = item.slice(colon + 1);
      if (scenario === '' || checkId === '') throw new Error(`${file}: ${set}.server: ${JSON.stringify(item)}: both sides of the colon are needed`);
      return { scenario, checkId };
    });
    const whole = new Set(entries.filter((e) => e.checkId === undefined).map((e) => e.scenario));
    for (const e of entries) {
      if (e.checkId !== undefined && whole.has(e.scenario)) throw new Error(`${file}: ${set}.server lists ${e.scenario} whole and its check ${e.checkId}: keep one`);
    }
    out[set as RequirementSet] = entries;
  }
  return out;
}

export interface Verdict {
  /** Failing, and the baseline says so. */
  expected: string[];
  /** Failing, and the baseline does not say so: a regression. */
  unexpected: string[];
  /** Listed in the baseline, but passing (or not a scored scenario of the set): the baseline lies. */
  stale: string[];
}

const label = (e: BaselineEntry) => (e.checkId === undefined ? e.scenario : `${e.scenario}:${e.checkId}`);

/**
 * Judges the scored scenarios that were asked for (`asked`): one with no result at all counts as
 * failing. Baseline entries about scenarios outside `asked` are ignored (a `--scenario` run), except
 * that entries naming no scored scenario of the set are stale.
 */
export function judge(results: readonly ScenarioResult[], scored: ReadonlySet<string>, asked: ReadonlySet<string>, baseline: readonly BaselineEntry[]): Verdict {
  const v: Verdict = { expected: [], unexpected: [], stale: [] };
  for (const e of baseline) if (!scored.has(e.scenario)) v.stale.push(`${label(e)} (not a scored scenario of this set)`);
  for (const scenario of asked) {
    if (!scored.has(scenario)) continue;
    const result = results.find((r) => r.scenario === scenario);
    const entries = baseline.filter((e) => e.scenario === scenario);
    const bad = result === undefined ? [{ id: 'no-result', status: 'FAILURE' }] : failing(result);
    if (entries.some((e) => e.checkId === undefined)) {
      (bad.length > 0 ? v.expected : v.stale).push(scenario);
      continue;
    }
    if (entries.length === 0) {
      if (bad.length > 0) v.unexpected.push(scenario);
      continue;
    }
    const listed = new Set(entries.map((e) => e.checkId));
    // One check id can occur several times in a scenario; each id is judged once.
    for (const id of new Set(bad.map((c) => c.id))) (listed.has(id) ? v.expected : v.unexpected).push(`${scenario}:${id}`);
    for (const e of entries) if (!bad.some((c) => c.id === e.checkId)) v.stale.push(label(e));
  }
  return v;
}

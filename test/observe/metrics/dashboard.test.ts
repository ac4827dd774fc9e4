// The Grafana dashboard and the deploy README are checked against the metrics the code defines, so
// neither can drift from it: every metric name a query uses must exist, with the labels it uses.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/core/gateway.ts';
import { auditCollector } from '../../../src/observe/metrics/audit-collector.ts';
import { describeMetrics, type MetricDescription } from '../../../src/observe/metrics/describe.ts';
import { GatewayMetrics } from '../../../src/observe/metrics/gateway-metrics.ts';
import { bareGateway } from './support.ts';

const ROOT = new URL('../../../', import.meta.url);
const dashboard = JSON.parse(readFileSync(new URL('deploy/grafana/gatehouse.json', ROOT), 'utf8')) as Record<string, any>;
const readme = readFileSync(new URL('deploy/README.md', ROOT), 'utf8');
/** Labels Prometheus adds to every scraped sample. */
const TARGET_LABELS = ['job', 'instance'];

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
  fieldConfig?: { defaults?: { thresholds?: { steps: { value: number | null }[] } } };
}

function allPanels(list: Panel[]): Panel[] {
  return list.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Every PromQL expression of the dashboard: panel targets, annotations, variable queries. */
function expressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of allPanels(dashboard.panels)) for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: t.expr });
  for (const a of dashboard.annotations.list) if (typeof a.expr === 'string') out.push({ where: `annotation "${a.name}"`, expr: a.expr });
  for (const v of dashboard.templating.list) if (typeof v.definition === 'string') out.push({ where: `variable $${v.name}`, expr: v.definition });
  return out;
}

/** Parentheses, brackets and braces nest properly outside quoted strings. */
function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (c === '"') {
      i++;
      while (i < expr.length && expr[i] !== '"') i += expr[i] === '\\' ? 2 : 1;
      if (i >= expr.length) return false;
    } else if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

describe('Grafana dashboard (deploy/grafana/gatehouse.json)', () => {
  let gw: Gateway;
  let metrics: MetricDescription[];
  const bySample = new Map<string, MetricDescription>();

  before(() => {
    gw = bareGateway();
    const m = new GatewayMetrics(gw);
    gw.metrics = m;
    // The audit group is registered only on a gateway with an audit trail; the dashboard shows it.
    auditCollector(m.registry, gw);
    metrics = describeMetrics(m.registry);
    for (const d of metrics) for (const s of d.samples) bySample.set(s, d);
  });
  after(async () => {
    gw.metrics?.close();
    await gw.close();
  });

  it('is an importable dashboard with a Prometheus data source input', () => {
    assert.ok(dashboard.schemaVersion >= 39);
    assert.deepEqual(dashboard.__inputs.map((i: { name: string; pluginId: string }) => [i.name, i.pluginId]), [['DS_PROMETHEUS', 'prometheus']]);
    assert.equal(dashboard.id, null, 'an exported dashboard carries no database id');
    const panels = allPanels(dashboard.panels);
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of panels) {
      assert.ok(p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: fits the 24-column grid`);
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', `${p.title}: uses the input data source`);
      assert.ok((p.targets ?? []).length > 0, `${p.title}: has a query`);
      for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${DS_PROMETHEUS}', `${p.title}: query data source`);
    }
  });

  it('queries only metrics the registry defines, with labels those metrics have', () => {
    const exprs = expressions();
    assert.ok(exprs.length > 30);
    for (const { where, expr } of exprs) {
      assert.ok(balanced(expr), `${where}: unbalanced brackets in ${expr}`);
      const names = expr.match(/\bgatehouse_[a-zA-Z0-9_]+/g) ?? [];
      assert.ok(names.length > 0, `${where}: queries no Gatehouse metric`);
      const labelsInExpr = new Set(TARGET_LABELS);
      for (const n of names) {
        const d = bySample.get(n);
        assert.ok(d !== undefined, `${where}: ${n} is not a metric Gatehouse defines`);
        for (const l of d.labelNames) labelsInExpr.add(l);
      }
      for (const m of expr.matchAll(/\b(gatehouse_[a-zA-Z0-9_]+)\{([^}]*)\}/g)) {
        const own = new Set([...bySample.get(m[1]!)!.labelNames, ...TARGET_LABELS]);
        for (const [, label] of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) assert.ok(own.has(label!), `${where}: ${m[1]} has no label "${label}"`);
      }
      for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
        for (const label of m[1]!.split(',').map((s) => s.trim()).filter(Boolean)) assert.ok(labelsInExpr.has(label), `${where}: grouping by "${label}", which none of its metrics has`);
      }
    }
  });

  it('has an unusual-activity view: each agent against its own baseline, with a line at 10x', () => {
    const panel = allPanels(dashboard.panels).find((p) => p.title === 'Calls per agent against its own baseline');
    assert.ok(panel !== undefined);
    const expr = panel.targets![0]!.expr;
    assert.match(expr, /rate\(gatehouse_agent_calls_total\{[^}]*\}\[5m\]\)/);
    assert.match(expr, /\[1h\] offset 5m/);
    assert.ok(panel.fieldConfig?.defaults?.thresholds?.steps.some((s) => s.value === 10));
    const floor = dashboard.templating.list.find((v: { name: string }) => v.name === 'baseline_floor');
    assert.ok(Number(floor?.query) > 0, 'the baseline floor is a positive rate');
  });
});

describe('deploy/README.md', () => {
  it('lists every Gatehouse metric, and only those', async () => {
    const gw = bareGateway();
    const m = new GatewayMetrics(gw);
    auditCollector(m.registry, gw);
    const own = describeMetrics(m.registry)
      .map((d) => d.name)
      .filter((n) => !n.startsWith('gatehouse_process_') && !n.startsWith('gatehouse_nodejs_'));
    const known = new Set(describeMetrics(m.registry).flatMap((d) => [d.name, ...d.samples]));
    m.close();
    await gw.close();
    const listed = new Set(readme.match(/`(gatehouse_[a-z0-9_]+)/g)?.map((s) => s.slice(1)) ?? []);
    for (const n of own) assert.ok(listed.has(n), `README does not describe ${n}`);
    for (const n of listed) assert.ok(known.has(n), `README names ${n}, which Gatehouse does not define`);
  });
});

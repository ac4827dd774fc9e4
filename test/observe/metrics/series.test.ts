import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from '../../../src/observe/metrics/hot-metrics.ts';
import { CounterSeries, HistogramSeries, OTHER, SeriesTable } from '../../../src/observe/metrics/series.ts';

describe('series table', () => {
  it('finds a label set by its values, and makes it once', () => {
    const t = new SeriesTable(['a', 'b'], () => new CounterSeries());
    const key = ['x', 'y'];
    t.at(key).inc();
    key[1] = 'z';
    t.at(key).inc();
    key[1] = 'y';
    t.at(key).inc(2);
    assert.deepEqual(
      t.entries().map((e) => [e.labels, e.series.value]),
      [
        [{ a: 'x', b: 'y' }, 3],
        [{ a: 'x', b: 'z' }, 1],
      ],
    );
  });

  it('keeps values that share a prefix apart', () => {
    const t = new SeriesTable(['a', 'b', 'c'], () => new CounterSeries());
    t.at(['1', '2', '3']).inc();
    t.at(['1', '23', '']).inc();
    t.at(['12', '3', '']).inc();
    assert.equal(t.size, 3);
  });

  it('folds label sets past its bound into one set of _other', () => {
    const t = new SeriesTable(['tool', 'outcome'], () => new CounterSeries(), 2);
    t.at(['a', 'ok']).inc();
    t.at(['b', 'ok']).inc();
    t.at(['c', 'ok']).inc();
    t.at(['d', 'error']).inc();
    t.at(['a', 'ok']).inc();
    assert.deepEqual(
      t.entries().map((e) => [e.labels, e.series.value]),
      [
        [{ tool: 'a', outcome: 'ok' }, 2],
        [{ tool: 'b', outcome: 'ok' }, 1],
        [{ tool: OTHER, outcome: OTHER }, 2],
      ],
    );
  });

  it('refuses a table without labels', () => {
    assert.throws(() => new SeriesTable([], () => new CounterSeries()), RangeError);
  });
});

describe('histogram series', () => {
  it('counts a value equal to a bound in that bucket (le), and drops what is not a duration', () => {
    const h = new HistogramSeries([0.1, 1]);
    for (const v of [0, 0.1, 0.5, 1, 7, -1, Number.NaN, Infinity]) h.observe(v);
    assert.deepEqual([...h.counts], [2, 2, 1]);
    assert.equal(h.count, 5);
    assert.equal(h.sum, 8.6);
  });
});

describe('exposition of hot metrics', () => {
  it('prints what prom-client prints for its own counter and histogram fed the same', async () => {
    const mine = new Registry();
    const theirs = new Registry();
    const buckets = [0.001, 0.01, 0.1, 1];
    const c = new HotCounter(mine, { name: 'x_requests_total', help: 'Requests "quoted" \\ back', labelNames: ['method', 'outcome'] });
    const h = new HotHistogram(mine, { name: 'x_duration_seconds', help: 'Durations', labelNames: ['method'], buckets });
    const pc = new Counter({ name: 'x_requests_total', help: 'Requests "quoted" \\ back', labelNames: ['method', 'outcome'], registers: [theirs] });
    const ph = new Histogram({ name: 'x_duration_seconds', help: 'Durations', labelNames: ['method'], buckets, registers: [theirs] });
    const calls: [string, string, number][] = [
      ['tools/call', 'ok', 0.0004],
      ['tools/call', 'ok', 0.02],
      ['tools/call', 'denied', 0.001],
      ['weird "name"\n', 'ok', 3],
    ];
    for (const [method, outcome, seconds] of calls) {
      c.at([method, outcome]).inc();
      pc.inc({ method, outcome });
      h.at([method]).observe(seconds);
      ph.observe({ method }, seconds);
    }
    assert.equal(await mine.metrics(), await theirs.metrics());
    // prom-client adds `exemplar: null` to its buckets; nothing else may differ.
    const plain = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === 'exemplar' ? undefined : v))) as unknown;
    assert.deepEqual(plain(await mine.getMetricsAsJSON()), plain(await theirs.getMetricsAsJSON()));
  });

  it('reset() zeroes every series (what the registry calls on resetMetrics)', async () => {
    const r = new Registry();
    const c = new HotCounter(r, { name: 'y_total', help: 'y', labelNames: ['a'] });
    const h = new HotHistogram(r, { name: 'y_seconds', help: 'y', labelNames: ['a'], buckets: [1] });
    c.at(['1']).inc(5);
    h.at(['1']).observe(0.5);
    r.resetMetrics();
    assert.equal(c.at(['1']).value, 0);
    assert.deepEqual([h.at(['1']).count, h.at(['1']).sum, ...h.at(['1']).counts], [0, 0, 0, 0]);
  });

  it('refuses names Prometheus would not take', () => {
    const r = new Registry();
    assert.throws(() => new HotCounter(r, { name: 'bad-name', help: 'x', labelNames: ['a'] }), /invalid metric name/);
    assert.throws(() => new HotCounter(r, { name: 'ok_total', help: 'x', labelNames: ['bad-label'] }), /invalid label name/);
    assert.throws(() => new HotHistogram(r, { name: 'ok_seconds', help: 'x', labelNames: ['le'], buckets: [1] }), /invalid label name/);
    assert.throws(() => new HotHistogram(r, { name: 'ok2_seconds', help: 'x', labelNames: ['a'], buckets: [1, 1] }), /ascending/);
  });
});

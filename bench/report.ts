// Figures per measured point, medians across repetitions, and the printed table.

export type TargetName = 'direct' | 'gateway';

export interface Sample {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  calls: number;
  errors: number;
  firstError?: string;
  /** Gateway CPU per successful call (gateway rows only). */
  gatewayCpuUsPerCall?: number;
  /** Gateway RSS at the end of the point (gateway rows only). */
  gatewayRssMiB?: number;
  /** Backend CPU per call: shows whether the backend, not the gateway, was the limit. */
  backendCpuUsPerCall: number;
  /** CPU of the benchmark process itself per call (the clients share the machine). */
  clientCpuUsPerCall: number;
}

export interface Point {
  target: TargetName;
  concurrency: number;
  samples: Sample[];
  median: Omit<Sample, 'firstError'>;
}

/** Nearest-rank percentile of unsorted values (sorts a copy). */
export function percentile(values: Float64Array, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function summarise(target: TargetName, concurrency: number, samples: Sample[]): Point {
  const m = (pick: (s: Sample) => number | undefined) => median(samples.map((s) => pick(s) ?? Number.NaN));
  const med: Point['median'] = {
    reqPerSec: m((s) => s.reqPerSec),
    p50Ms: m((s) => s.p50Ms),
    p99Ms: m((s) => s.p99Ms),
    calls: m((s) => s.calls),
    errors: samples.reduce((n, s) => n + s.errors, 0),
    backendCpuUsPerCall: m((s) => s.backendCpuUsPerCall),
    clientCpuUsPerCall: m((s) => s.clientCpuUsPerCall),
  };
  if (target === 'gateway') {
    med.gatewayCpuUsPerCall = m((s) => s.gatewayCpuUsPerCall);
    med.gatewayRssMiB = m((s) => s.gatewayRssMiB);
  }
  return { target, concurrency, samples, median: med };
}

const COLUMNS = ['target', 'clients', 'req/s', 'p50 ms', 'p99 ms', 'gw CPU µs/call', 'gw RSS MiB', 'gw/direct', 'errors'];

export function formatTable(points: readonly Point[]): string {
  const direct = new Map(points.filter((p) => p.target === 'direct').map((p) => [p.concurrency, p.median.reqPerSec]));
  const rows = points.map((p) => {
    const d = direct.get(p.concurrency);
    const ratio = p.target === 'gateway' && d !== undefined && d > 0 ? `${(p.median.reqPerSec / d).toFixed(2)}×` : '—';
    return [
      p.target,
      String(p.concurrency),
      fmt(p.median.reqPerSec, 0),
      fmt(p.median.p50Ms, 3),
      fmt(p.median.p99Ms, 3),
      p.median.gatewayCpuUsPerCall === undefined ? '—' : fmt(p.median.gatewayCpuUsPerCall, 0),
      p.median.gatewayRssMiB === undefined ? '—' : fmt(p.median.gatewayRssMiB, 1),
      ratio,
      String(p.median.errors),
    ];
  });
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(COLUMNS), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function fmt(n: number, digits: number): string {
  if (!Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

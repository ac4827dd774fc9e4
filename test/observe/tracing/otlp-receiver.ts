// A small OTLP/HTTP trace receiver for tests (and the benchmark): node:http on 127.0.0.1, accepting
// POST /v1/traces with a JSON ExportTraceServiceRequest, decoded into flat spans.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type AttrValue = string | number | boolean;

/** One span as the receiver decoded it; ids are lowercase hex, as OTLP/JSON carries them. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, AttrValue>;
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  startNs: bigint;
  endNs: bigint;
  /** `service.name` of the resource it came with. */
  service: string | undefined;
}

export interface OtlpReceiver extends AsyncDisposable {
  /** The endpoint to configure: http://127.0.0.1:PORT/v1/traces */
  readonly url: string;
  /** Every span received, unless started with `keep: false`. */
  readonly spans: ReceivedSpan[];
  /** Spans received in all (kept or not). */
  readonly received: number;
  /** Headers of each export request, in order (unless started with `keep: false`). */
  readonly requests: IncomingHttpHeaders[];
  /** Resolves with the spans `pick` selects once there are at least `count` of them; rejects after `timeoutMs`. */
  waitFor(pick: (s: ReceivedSpan) => boolean, count?: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
}

interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: KeyValue[]; status?: { code?: number; message?: string }; startTimeUnixNano: string | number; endTimeUnixNano: string | number }[] }[];
  }[];
}

function attrs(list: KeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const { key, value } of list ?? []) {
    const v = value.stringValue ?? value.boolValue ?? value.doubleValue ?? (value.intValue === undefined ? undefined : Number(value.intValue));
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** OTLP/JSON ids are hex; some encoders send base64. Either way the test compares hex. */
function hexId(id: string | undefined): string {
  if (id === undefined || id === '') return '';
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

function decode(body: ExportRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = attrs(rs.resource?.attributes)['service.name'];
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: hexId(s.traceId),
          spanId: hexId(s.spanId),
          parentSpanId: hexId(s.parentSpanId),
          name: s.name,
          kind: s.kind,
          attributes: attrs(s.attributes),
          status: { code: s.status?.code ?? 0, ...(s.status?.message ? { message: s.status.message } : {}) },
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
          service: typeof service === 'string' ? service : undefined,
        });
      }
    }
  }
  return out;
}

/** `keep: false` (a benchmark's sink): spans are decoded and counted, not kept. */
export async function startOtlpReceiver(opts: { keep?: boolean } = {}): Promise<OtlpReceiver> {
  const keep = opts.keep ?? true;
  const spans: ReceivedSpan[] = [];
  const requests: IncomingHttpHeaders[] = [];
  let received = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415, { 'content-type': 'text/plain' }).end('POST /v1/traces with application/json only');
        return;
      }
      let batch: ReceivedSpan[];
      try {
        batch = decode(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest);
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
        return;
      }
      received += batch.length;
      if (keep) {
        spans.push(...batch);
        requests.push(req.headers);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    url,
    spans,
    get received() {
      return received;
    },
    requests,
    async waitFor(pick, count = 1, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = spans.filter(pick);
        if (found.length >= count) return found;
        if (Date.now() > deadline) throw new Error(`expected ${count} matching spans within ${timeoutMs} ms, got ${found.length}: ${spans.map((s) => s.name).join(', ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

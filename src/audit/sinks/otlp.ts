// Audit records as OpenTelemetry logs: OTLP/HTTP with the JSON encoding (lowerCamelCase fields,
// 64-bit integers as decimal strings, enums as numbers, trace ids as hex), one log record per entry
// whose body is the formatted record, and the fields people filter on as attributes.
import type { Logger } from 'pino';
import type { AuditEntry } from '../entry.ts';
import { HttpPoster } from './http-post.ts';
import { SinkDeliveryError, formatRecord, type AuditSink, type SinkFormat, type SinkRecord } from './sink.ts';

export interface OtlpSinkOptions {
  name: string;
  /** Full logs URL, e.g. `http://127.0.0.1:4318/v1/logs`. */
  endpoint: string;
  /** Secret values. */
  headers: Record<string, string>;
  timeoutMs: number;
  format: SinkFormat;
  version: string;
  logger: Logger;
}

type AnyValue = { stringValue: string } | { intValue: string } | { boolValue: boolean };
interface KeyValue {
  key: string;
  value: AnyValue;
}

// SeverityNumber (logs data model): INFO = 9, WARN = 13, ERROR = 17.
const INFO = { severityNumber: 9, severityText: 'INFO' } as const;
const WARN = { severityNumber: 13, severityText: 'WARN' } as const;
const ERROR = { severityNumber: 17, severityText: 'ERROR' } as const;

export class OtlpSink implements AuditSink {
  readonly name: string;
  readonly kind = 'otlp' as const;
  readonly #poster: HttpPoster;
  readonly #format: SinkFormat;
  readonly #version: string;
  readonly #log: Logger;

  constructor(opts: OtlpSinkOptions) {
    this.name = opts.name;
    this.#format = opts.format;
    this.#version = opts.version;
    this.#log = opts.logger;
    this.#poster = new HttpPoster({ sink: opts.name, url: opts.endpoint, headers: opts.headers, timeoutMs: opts.timeoutMs });
  }

  async write(records: readonly SinkRecord[], signal?: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    const body = JSON.stringify(exportRequest(records, this.#format, this.#version, Date.now()));
    const answer = await this.#poster.post(body, signal);
    if (answer.body.length === 0 || !answer.contentType.endsWith('json')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.body.toString('utf8'));
    } catch {
      return;
    }
    const partial = (parsed as { partialSuccess?: { rejectedLogRecords?: unknown; errorMessage?: unknown } } | null)?.partialSuccess;
    if (partial === undefined || partial === null) return;
    const rejected = Number(partial.rejectedLogRecords ?? 0);
    const message = typeof partial.errorMessage === 'string' ? partial.errorMessage.slice(0, 500) : undefined;
    // OTLP says a partial success must not be resent (the rest was accepted); the collector owns the
    // rejected ones now, so this is loud rather than retried.
    if (rejected > 0) this.#log.error({ sink: this.name, rejectedLogRecords: rejected, collectorMessage: message, batch: records.length }, 'OTLP collector rejected audit log records');
    else if (message !== undefined && message !== '') this.#log.warn({ sink: this.name, collectorMessage: message }, 'OTLP collector accepted the batch with a warning');
  }

  async close(): Promise<void> {
    await this.#poster.close();
  }
}

/** The ExportLogsServiceRequest for a batch. `observedMs` is when the gateway exported it. */
export function exportRequest(records: readonly SinkRecord[], format: SinkFormat, version: string, observedMs: number): Record<string, unknown> {
  const observed = `${BigInt(observedMs) * 1_000_000n}`;
  return {
    resourceLogs: [
      {
        resource: { attributes: [str('service.name', 'gatehouse'), str('service.version', version)] },
        scopeLogs: [{ scope: { name: 'gatehouse.audit', version }, logRecords: records.map((r) => logRecord(r, format, version, observed)) }],
      },
    ],
  };
}

function logRecord(r: SinkRecord, format: SinkFormat, version: string, observed: string): Record<string, unknown> {
  const e = r.entry;
  const ms = Date.parse(e.time);
  if (Number.isNaN(ms)) throw new SinkDeliveryError(`audit entry ${e.chain}#${e.seq} has an unreadable time`);
  const rec: Record<string, unknown> = {
    timeUnixNano: `${BigInt(ms) * 1_000_000n}`,
    observedTimeUnixNano: observed,
    ...severityOf(e),
    body: { stringValue: formatRecord(r, format, version) },
    attributes: attributesOf(e, r.hash),
  };
  if (e.traceId !== undefined && /^[0-9a-f]{32}$/i.test(e.traceId) && !/^0+$/.test(e.traceId)) rec.traceId = e.traceId.toLowerCase();
  return rec;
}

function severityOf(e: AuditEntry): typeof INFO | typeof WARN | typeof ERROR {
  if (e.type === 'gap') return e.gap !== undefined && e.gap.lost > 0 ? ERROR : WARN;
  if (e.type === 'admin') {
    const status = e.admin?.status ?? 200;
    return status >= 500 ? ERROR : status >= 400 ? WARN : INFO;
  }
  switch (e.outcome) {
    case undefined:
    case 'ok':
    // The agent hung up: its choice, not a failure of the gateway or the upstream.
    case 'cancelled':
      return INFO;
    case 'denied':
      return WARN;
    default:
      return ERROR;
  }
}

function attributesOf(e: AuditEntry, hash: string): KeyValue[] {
  const a: KeyValue[] = [
    str('gatehouse.audit.id', e.id),
    str('gatehouse.audit.type', e.type),
    str('gatehouse.audit.chain', e.chain),
    { key: 'gatehouse.audit.seq', value: { intValue: String(e.seq) } },
    str('gatehouse.audit.hash', hash),
  ];
  // Names from the OpenTelemetry MCP and GenAI semantic conventions where they exist.
  if (e.method !== undefined) a.push(str('mcp.method.name', e.method));
  if (e.session !== undefined) a.push(str('mcp.session.id', e.session));
  if (e.principal !== undefined) a.push(str('gatehouse.agent', e.principal.agent));
  if (e.principal?.user !== undefined) a.push(str('gatehouse.user', e.principal.user));
  if (e.principal?.tenant !== undefined) a.push(str('gatehouse.tenant', e.principal.tenant));
  if (e.target?.upstream !== undefined) a.push(str('gatehouse.upstream', e.target.upstream));
  const name = e.target?.name;
  if (name !== undefined) {
    if (e.target?.kind === 'tool') a.push(str('gen_ai.tool.name', name));
    else if (e.target?.kind === 'prompt') a.push(str('gen_ai.prompt.name', name));
    else if (e.target?.kind === 'resource') a.push(str('mcp.resource.uri', name));
    a.push(str('gatehouse.target', name));
  }
  if (e.outcome !== undefined) a.push(str('gatehouse.outcome', e.outcome));
  if (e.policy !== undefined) a.push(str('gatehouse.decision', e.policy.effect));
  if (e.admin !== undefined) a.push(str('gatehouse.admin.action', e.admin.action));
  if (e.gap !== undefined) a.push(str('gatehouse.gap.reason', e.gap.reason), { key: 'gatehouse.gap.lost', value: { intValue: String(e.gap.lost) } });
  return a;
}

function str(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}

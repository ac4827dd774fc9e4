import { z } from 'zod';
import { identifier, secretMap } from './common.ts';

const overflow = z
  .enum(['fail_closed', 'spill'])
  .describe('When the buffer is full: `fail_closed` refuses new calls until there is room again; `spill` keeps going, records staying on local disk until they can be delivered. Either way the gap is recorded in the trail and counted.');

const redactRule = z.strictObject({
  tools: z.array(z.string().min(1)).min(1).describe('Public names (globs: `*`, `?`) of the tools, prompts or resource URIs this rule covers.'),
  keys: z.array(z.string().min(1)).default([]).describe('Object keys whose values are replaced wherever they appear (case-insensitive).'),
  paths: z.array(z.string().min(1)).default([]).describe('JSONPath expressions (RFC 9535 subset: `$`, `.name`, `[\'name\']`, `[n]`, `[*]`, `..name`) whose values are replaced.'),
  results: z.enum(['summary', 'content']).optional().describe('Overrides `audit.results` for these targets.'),
});

const sinkCommon = {
  name: identifier.describe('Names the sink in logs, metrics and its delivery cursor.'),
  format: z.enum(['native', 'ocsf']).default('native').describe('`native` Gatehouse entries, or OCSF 1.3 API Activity (class 6003) events for SIEMs.'),
  batch: z.number().int().min(1).max(10_000).default(200).describe('Most records per write or request.'),
  maxLag: z.number().int().min(1).default(100_000).describe('Records the sink may fall behind the store before `overflow` applies.'),
  overflow: overflow.default('spill'),
  retry: z
    .strictObject({
      initialDelayMs: z.number().int().positive().default(500),
      maxDelayMs: z.number().int().positive().default(60_000),
    })
    .prefault({})
    .describe('Backoff (exponential with jitter) after a failed delivery; the sink retries from its cursor, nothing is skipped.'),
};

const sinkSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('jsonl'),
    ...sinkCommon,
    path: z.string().min(1).describe('File written, one JSON record per line; relative paths resolve against the config file\'s folder.'),
    rotate: z
      .strictObject({
        maxBytes: z.number().int().min(1024).default(100 * 1024 * 1024).describe('Rotate when the file would grow past this size.'),
        keep: z.number().int().min(1).max(1000).default(10).describe('Rotated files kept (`path.1` newest).'),
      })
      .prefault({}),
  }),
  z.strictObject({
    kind: z.literal('webhook'),
    ...sinkCommon,
    url: z.url({ protocol: /^https?$/ }).describe('Receives POST requests with a JSON array of records.'),
    headers: secretMap.default({}).describe('Headers sent with each request (values are secrets).'),
    timeoutMs: z.number().int().positive().default(10_000),
  }),
  z.strictObject({
    kind: z.literal('otlp'),
    ...sinkCommon,
    endpoint: z.url({ protocol: /^https?$/ }).describe('OTLP/HTTP logs endpoint, e.g. `http://127.0.0.1:4318/v1/logs` (JSON encoding).'),
    headers: secretMap.default({}).describe('Headers sent with each export (values are secrets).'),
    timeoutMs: z.number().int().positive().default(10_000),
  }),
]);

export const auditSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Keep the audit trail. Turning it off removes the record of who called what.'),
    chain: identifier.optional().describe('Name of this instance\'s hash chain (default: `gateway.name`). Instances sharing one PostgreSQL store need distinct chains.'),
    buffer: z.number().int().min(1).default(10_000).describe('Records held in memory while the store is slow or down before `overflow` applies.'),
    overflow: overflow.default('fail_closed'),
    spillDir: z.string().default('./data/audit-spill').describe('Where `spill` keeps records the store could not take yet (replayed in order once it can).'),
    checkpoint: z
      .strictObject({
        records: z.number().int().min(1).default(1000).describe('Sign a checkpoint after this many records.'),
        intervalSeconds: z.number().int().min(1).default(60).describe('... or after this long, when there are new records.'),
      })
      .prefault({})
      .describe('Ed25519-signed checkpoints of the chain head.'),
    results: z.enum(['summary', 'content']).default('summary').describe('`summary`: size, content types and `isError` of each answer; `content`: also the (redacted) result itself.'),
    redact: z
      .strictObject({
        keys: z
          .array(z.string().min(1))
          .default(['password', 'passwd', 'secret', 'token', 'access_token', 'refresh_token', 'api_key', 'apikey', 'authorization', 'cookie', 'private_key', 'client_secret'])
          .describe('Keys redacted in every target\'s arguments and results (case-insensitive, at any depth).'),
        rules: z.array(redactRule).default([]).describe('Per-target redaction; every matching rule applies.'),
      })
      .prefault({})
      .describe('Applied before anything is written: the store, spill files and sinks only see redacted values.'),
    retention: z
      .strictObject({
        maxAgeDays: z.number().int().min(1).optional().describe('Remove records older than this.'),
        maxBytes: z.number().int().min(1024 * 1024).optional().describe('Remove the oldest records while the trail is larger than this.'),
        intervalSeconds: z.number().int().min(10).default(3600).describe('How often retention runs.'),
      })
      .prefault({})
      .describe('Removed ranges are recorded, so verification tells pruning from tampering.'),
    sinks: z.array(sinkSchema).default([]).describe('Streams fed from the store in order, each from its own cursor: delivery is at least once and survives restarts.'),
  })
  .describe('The audit trail: one hash-chained record per exchange, durable before the answer is released.');

export type AuditConfig = z.infer<typeof auditSchema>;
export type AuditSinkConfig = z.infer<typeof sinkSchema>;

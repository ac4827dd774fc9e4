// Builds the sink a config entry describes. Config is already validated by the schema; only what
// the schema cannot know (the config folder, the running version) comes in here.
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { AuditSinkConfig } from '../../config/schema/audit.ts';
import { JsonlFileSink } from './jsonl-file.ts';
import { OtlpSink } from './otlp.ts';
import type { AuditSink } from './sink.ts';
import { WebhookSink } from './webhook.ts';

export interface MakeSinkDeps {
  /** Config file's folder: relative `path`s resolve against it. */
  dir: string;
  /** Gatehouse version (OCSF metadata, OTLP resource). */
  version: string;
  logger: Logger;
}

export function makeSink(cfg: AuditSinkConfig, deps: MakeSinkDeps): AuditSink {
  switch (cfg.kind) {
    case 'jsonl':
      return new JsonlFileSink({
        name: cfg.name,
        path: resolve(deps.dir, cfg.path),
        maxBytes: cfg.rotate.maxBytes,
        keep: cfg.rotate.keep,
        format: cfg.format,
        version: deps.version,
        logger: deps.logger,
      });
    case 'webhook':
      return new WebhookSink({ name: cfg.name, url: cfg.url, headers: { ...cfg.headers }, timeoutMs: cfg.timeoutMs, format: cfg.format, version: deps.version });
    case 'otlp':
      return new OtlpSink({
        name: cfg.name,
        endpoint: cfg.endpoint,
        headers: { ...cfg.headers },
        timeoutMs: cfg.timeoutMs,
        format: cfg.format,
        version: deps.version,
        logger: deps.logger,
      });
  }
}

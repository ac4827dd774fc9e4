import { pino, type Logger } from 'pino';

export interface LogOptions {
  level: string;
  pretty: boolean;
}

/**
 * Structured logs on stderr (stdout may carry MCP in stdio mode). Credentials never reach a log
 * line: headers are not logged, and the paths below are censored if a caller passes them anyway.
 */
export function createLogger(opts: LogOptions): Logger {
  return pino({
    level: opts.level,
    base: { service: 'gatehouse' },
    redact: {
      paths: ['headers.authorization', 'headers.cookie', '*.headers.authorization', 'req.headers.authorization', 'env', '*.env'],
      censor: '[redacted]',
    },
    transport: opts.pretty ? { target: 'pino-pretty', options: { destination: 2 } } : undefined,
  }, opts.pretty ? undefined : pino.destination({ dest: 2, sync: false }));
}

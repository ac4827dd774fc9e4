// Active health checks over the session that serves calls: a check never opens a new upstream session
// (2025 era: the same Mcp-Session-Id, the same stdio process; 2026-07-28: the same keep-alive
// connections, since that revision has no sessions). Checking that way also tests what calls use.
import type { Logger } from 'pino';
import type { UpstreamConfig } from '../config/schema/upstream.ts';
import type { UpstreamSession } from './session.ts';

/** Longest a check may take, whatever the interval: a loaded server may be slow without being down. */
const MAX_CHECK_MS = 10_000;

/**
 * What a check asks: `ping` in the 2025 era; 2026-07-28 has no ping, and `server/discover` is the one
 * request every modern server must answer.
 */
export function healthMethod(session: UpstreamSession): string {
  return session.era === 'modern' ? 'server/discover' : 'ping';
}

/**
 * Checks `session` every `healthIntervalMs` (0: never) until the returned function is called. Any answer,
 * a JSON-RPC error included, means the server is alive; only a transport failure or no answer within the
 * check's deadline counts, reported once through `onFail`, after which checking stops.
 */
export function startHealthChecks(session: UpstreamSession, cfg: UpstreamConfig, log: Logger, onFail: (why: string) => void): () => void {
  const every = cfg.healthIntervalMs;
  if (every === 0) return () => undefined;
  const method = healthMethod(session);
  const timeoutMs = Math.min(cfg.timeoutMs, MAX_CHECK_MS);
  let inFlight = false;
  let stopped = false;
  const timer = setInterval(() => {
    // A check still waiting is not doubled: a slow server is asked once, not piled on.
    if (inFlight || stopped) return;
    inFlight = true;
    session.request(method, undefined, { timeoutMs }).then(
      () => {
        inFlight = false;
      },
      (err: unknown) => {
        inFlight = false;
        if (stopped) return;
        stop();
        const why = err instanceof Error ? err.message : String(err);
        log.debug({ method, err: why }, 'health check failed');
        onFail(why);
      },
    );
  }, every);
  timer.unref();
  const stop = (): void => {
    stopped = true;
    clearInterval(timer);
  };
  return stop;
}

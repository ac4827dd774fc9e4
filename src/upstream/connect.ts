// One entry point from config to a ready session: start what must be started, detect the era, complete
// the handshake, all within the upstream's connectTimeoutMs; on any failure nothing is left running.
import type { Logger } from 'pino';
import type { UpstreamConfig } from '../config/schema/upstream.ts';
import { GatewayFault, gatewayError } from '../errors/codes.ts';
import type { Era } from '../protocol/mcp.ts';
import type { SessionEvents, UpstreamSession } from './session.ts';
import { logLines, startProcess, type SupervisedProcess } from './supervisor.ts';
import { handshake, type HandshakePlan } from './transports/handshake.ts';
import { LegacySseSession } from './transports/legacy-sse.ts';
import { StreamableHttpSession } from './transports/streamable-http.ts';
import { StdioSession } from './transports/stdio.ts';
import { waitForPort } from './transports/wait-port.ts';
import type { SessionCoreOptions } from './transports/session-core.ts';

export interface ConnectDeps {
  logger: Logger;
  events: SessionEvents;
  /** Relative `cwd`s resolve against it (the config file's folder). */
  configDir: string;
  /** The era this upstream had last time: skips the probe, re-probes if the assumption fails. */
  knownEra?: Era;
  clientInfo: { name: string; version: string };
  /** Capabilities the gateway declares upstream (legacy `initialize`, modern `_meta`); `{}` when omitted. */
  clientCapabilities?: Record<string, unknown>;
  /** Aborting gives up the attempt (the upstream was stopped): whatever was started is stopped before the promise rejects. */
  signal?: AbortSignal;
}

/** How long a stdio server may stay silent on `server/discover` before it counts as legacy. */
const STDIO_PROBE_MS = 3_000;
const LAUNCH_STOP_GRACE_MS = 5_000;

export async function connectUpstream(cfg: UpstreamConfig, deps: ConnectDeps): Promise<UpstreamSession> {
  const started = Date.now();
  const deadline = started + cfg.connectTimeoutMs;
  const timeout = new AbortController();
  const timer = setTimeout(() => {
    const message = `upstream "${cfg.name}" did not start and complete its handshake within ${cfg.connectTimeoutMs} ms`;
    timeout.abort(new GatewayFault(gatewayError('upstream_timeout', message, { upstream: cfg.name, connectTimeoutMs: cfg.connectTimeoutMs })));
  }, cfg.connectTimeoutMs);
  // A stop during the attempt takes the same path as the timeout, so nothing started is left running.
  const giveUp = (): void => timeout.abort(deps.signal?.reason);
  if (deps.signal?.aborted) giveUp();
  else deps.signal?.addEventListener('abort', giveUp, { once: true });
  // Every line about this upstream names it, once (the caller's logger may already carry the name).
  const logger = 'upstream' in deps.logger.bindings() ? deps.logger : deps.logger.child({ upstream: cfg.name });
  const core: SessionCoreOptions = {
    name: cfg.name,
    logger,
    events: deps.events,
    clientInfo: deps.clientInfo,
    clientCapabilities: deps.clientCapabilities ?? {},
    timeoutMs: cfg.timeoutMs,
  };
  let proc: SupervisedProcess | undefined;
  let session: StdioSession | StreamableHttpSession | LegacySseSession | undefined;
  try {
    if (cfg.transport === 'stdio') {
      proc = startProcess({ name: cfg.name, command: cfg.command, args: cfg.args, env: cfg.env, cwd: cfg.cwd }, { logger, configDir: deps.configDir });
      await abortable(proc.ready, timeout.signal);
      session = new StdioSession(core, proc);
    } else {
      if (cfg.launch !== undefined) {
        proc = startProcess({ name: cfg.name, ...cfg.launch }, { logger, configDir: deps.configDir });
        logLines(proc.stdout, logger, { stream: 'stdout' });
        await abortable(proc.ready, timeout.signal);
        await waitForPort(new URL(cfg.url), proc, cfg.name, timeout.signal);
      }
      session = cfg.transport === 'sse' ? new LegacySseSession(core, cfg, proc) : new StreamableHttpSession(core, cfg, proc);
    }
    const plan: HandshakePlan = {
      mode: cfg.transport === 'streamable-http' ? cfg.era : cfg.transport === 'sse' ? 'legacy' : 'auto',
      knownEra: deps.knownEra,
      probeTimeoutMs: cfg.transport === 'stdio' ? Math.min(STDIO_PROBE_MS, Math.max(500, cfg.connectTimeoutMs / 3)) : cfg.connectTimeoutMs,
      deadline,
      signal: timeout.signal,
    };
    if (session instanceof LegacySseSession) await session.open(timeout.signal);
    await handshake(session, plan);
    // It may have died in the last moment of the handshake: its death would then reach nobody.
    if (session.closed) throw session.closedFault();
    session.connected = true;
    logger.info({ era: session.era, protocolVersion: session.protocolVersion, server: session.serverInfo, ms: Date.now() - started }, 'upstream connected');
    return session;
  } catch (err) {
    const reason = timeout.signal.aborted ? (timeout.signal.reason as Error) : err;
    if (session !== undefined) await session.close().catch(() => undefined);
    else if (proc !== undefined) await proc.stop(LAUNCH_STOP_GRACE_MS).catch(() => undefined);
    throw reason;
  } finally {
    clearTimeout(timer);
    deps.signal?.removeEventListener('abort', giveUp);
  }
}

/** Rejects with the signal's reason as soon as it aborts. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((ok, fail) => {
    const onAbort = (): void => fail(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        ok(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        fail(e);
      },
    );
  });
}

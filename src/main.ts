import type { Logger } from 'pino';
import { compileConfig } from './config/compile.ts';
import { ConfigError, configProblem, loadConfig } from './config/load.ts';
import type { Snapshot } from './config/snapshot.ts';
import { watchConfigFile } from './config/watch.ts';
import { WatchSet } from './config/watch-set.ts';
import { Gateway } from './core/gateway.ts';
import { startDataPlane, type DataPlane } from './edge/http-server.ts';
import { startStdioEdge, type StdioPlane, type StdioStreams } from './edge/stdio-edge.ts';
import { logObserver } from './observe/log-observer.ts';
import { startAdminPlane, type AdminPlane } from './admin/admin-server.ts';
import { createLogger } from './observe/logger.ts';
import { openStore } from './store/open.ts';
import { AuditLog } from './audit/audit-log.ts';
import { startTracing, tracingReloadNote } from './observe/tracing/start.ts';
import type { Tracing } from './observe/tracing/tracing.ts';
import { GatewayMetrics } from './observe/metrics/gateway-metrics.ts';

/** What the wiring needs of an agent-side listener (HTTP or stdio): stop taking work, finish what is in flight. */
export interface AgentPlane {
  drain(): Promise<boolean>;
}

export interface Running<P extends AgentPlane = DataPlane> {
  readonly gateway: Gateway;
  readonly dataPlane: P;
  /** The admin listener, when the config has an `admin` section (HTTP mode only). */
  readonly admin: AdminPlane | undefined;
  readonly log: Logger;
  /** Re-reads the config file; a bad file leaves the running snapshot in force. */
  reload(): Promise<{ ok: true } | { ok: false; error: string }>;
  /** Drains in-flight calls, stops upstreams (reaping their processes) and closes the store. */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly configFile: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Watch the config file and reload on change (serve does; tests may not). */
  readonly watch?: boolean;
  readonly log?: Logger;
  /** How long to wait for upstreams before listening; they keep starting in the background after. */
  readonly settleMs?: number;
  /** Where agents connect: the HTTP data plane (default). */
  readonly listen?: 'http';
}

/** `gatehouse stdio`: one agent on stdin/stdout instead of an HTTP listener. */
export interface StdioStartOptions extends Omit<StartOptions, 'listen'> {
  readonly listen: 'stdio';
  /** Defaults to the process's stdin and stdout. */
  readonly stdio?: StdioStreams;
}

/** Wiring only: load -> compile -> store -> upstreams -> serve. */
export function startGatehouse(opts: StdioStartOptions): Promise<Running<StdioPlane>>;
export function startGatehouse(opts: StartOptions): Promise<Running>;
export async function startGatehouse(opts: StartOptions | StdioStartOptions): Promise<Running<AgentPlane>> {
  const loaded = await loadConfig(opts.configFile, opts.env);
  const first = compileConfig(loaded);
  const log = opts.log ?? createLogger(first.config.log);
  const store = await openStore(first.config.store, first.dir);
  let tracing: Tracing | undefined;
  try {
    tracing = await startTracing(first.config.telemetry.tracing, log);
  } catch (err) {
    await store.close();
    throw err;
  }
  const gateway = new Gateway(first, store, log, tracing);
  gateway.observers.add(logObserver(log));
  if (first.config.audit.enabled) {
    try {
      gateway.audit = await AuditLog.open({ store, snapshot: () => gateway.snapshot, log });
    } catch (err) {
      await gateway.close();
      throw err;
    }
  }
  await gateway.start();
  await gateway.registry.settled(opts.settleMs ?? 10_000);
  let dataPlane: AgentPlane;
  let admin: AdminPlane | undefined;
  if (opts.listen === 'stdio') {
    if (first.auth.stdio.methods.length === 0) {
      await gateway.close();
      throw new ConfigError([configProblem(loaded, ['gateway', 'stdio', 'auth'], 'gateway.stdio.auth is empty: list the methods `gatehouse stdio` accepts (an `anonymous` one for a local desktop client)')]);
    }
    const token = (opts.env ?? process.env)[first.config.gateway.stdio.tokenEnv];
    dataPlane = startStdioEdge(gateway, { ...(opts.stdio ?? { input: process.stdin, output: process.stdout }), token });
    log.info({ upstreams: first.upstreams.length, generation: first.generation }, 'gatehouse serving on stdio');
  } else {
    if (first.auth.data.methods.length === 0) {
      await gateway.close();
      throw new ConfigError([configProblem(loaded, ['gateway', 'listen', 'auth'], 'gateway.listen.auth is empty: list the authentication methods agents use, or an `anonymous` method to serve without credentials')]);
    }
    // Metrics are served on the admin listener only; made before the data plane so no exchange goes uncounted.
    if (first.config.admin !== undefined) gateway.metrics = new GatewayMetrics(gateway);
    const http = await startDataPlane(gateway);
    dataPlane = http;
    if (gateway.metrics !== undefined) gateway.metrics.sessions = http.edge.sessions;
    log.info({ url: http.url, upstreams: first.upstreams.length, generation: first.generation }, 'gatehouse listening');
    if (first.config.admin !== undefined) {
      try {
        admin = await startAdminPlane(gateway);
      } catch (err) {
        await http.drain();
        await gateway.close();
        throw err;
      }
      log.info({ url: admin.url }, 'admin API listening');
    }
  }

  let reloading: Promise<{ ok: true } | { ok: false; error: string }> | undefined;
  const reload = async () => {
    // One reload at a time; a change during a reload triggers one more afterwards.
    while (reloading !== undefined) await reloading.catch(() => undefined);
    reloading = (async () => {
      let next: Snapshot | undefined;
      const r = await gateway.snapshots.reloadFrom(async () => (next = compileConfig(await loadConfig(opts.configFile, opts.env))));
      if (r.ok && next !== undefined) {
        gateway.relay.apply(next);
        await gateway.registry.apply(next);
        log.info({ generation: gateway.snapshots.generation }, 'config reloaded');
        const tracingNote = tracingReloadNote(first.config.telemetry.tracing, next.config.telemetry.tracing);
        if (tracingNote !== undefined) log.warn(tracingNote);
      } else if (!r.ok) log.error({ error: r.error }, 'config reload rejected; the previous config keeps serving');
      return r;
    })();
    try {
      return await reloading;
    } finally {
      reloading = undefined;
    }
  };
  const watcher = opts.watch === true ? watchConfigFile(loaded.file, () => void reload(), { initialText: loaded.text }) : undefined;
  // Policy files reload the config like the config file itself; the set follows the config in force.
  const policyWatch = opts.watch === true ? new WatchSet(() => void reload()) : undefined;
  policyWatch?.follow(first.config.policy?.files ?? [], first.dir, new Map(loaded.policyFiles.map((f) => [f.file, f.text])));
  const unfollow = policyWatch === undefined ? undefined : gateway.snapshots.subscribe((next) => policyWatch.follow(next.config.policy?.files ?? [], next.dir));

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      watcher?.close();
      unfollow?.();
      policyWatch?.close();
      // Not ready first, still serving: whoever routes traffic here sees it and stops before the listeners go.
      gateway.leaving = true;
      const delay = gateway.snapshot.config.gateway.drainDelaySeconds;
      if (delay > 0) {
        log.info({ seconds: delay }, 'shutting down: not ready, serving until the drain starts');
        await new Promise((r) => setTimeout(r, delay * 1000));
      }
      await admin?.close();
      const drained = await dataPlane.drain();
      if (!drained) log.warn({ inflight: gateway.inflight }, 'drain timed out; closing with calls in flight');
      // Counted to the end: exchanges finishing during the drain are in the metrics too.
      gateway.metrics?.close();
      await gateway.close();
      log.info('gatehouse stopped');
      log.flush?.();
    })());
  return { gateway, dataPlane, admin, log, reload, stop };
}

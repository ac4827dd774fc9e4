import { startOrExit } from './start-or-exit.ts';
import type { StdioPlane } from '../edge/stdio-edge.ts';
import { startGatehouse, type Running } from '../main.ts';

/**
 * `gatehouse stdio`: a desktop client launches the gateway as its local MCP server. stdout carries
 * protocol messages only (logs go to stderr). The agent closing stdin, SIGTERM or SIGINT all end it the
 * same way: calls in flight finish (up to gateway.drainSeconds), upstreams are stopped and reaped, exit 0.
 */
export async function stdioCommand(opts: { config: string; watch: boolean }): Promise<void> {
  let running: Running<StdioPlane> | undefined;
  let stopRequested: string | undefined;
  let stopping = false;
  let signals = 0;
  const stop = (why: string): void => {
    if (running === undefined) {
      // Still starting: stop as soon as the upstreams it is starting can be stopped too.
      stopRequested ??= why;
      return;
    }
    if (stopping) return;
    stopping = true;
    const r = running;
    r.log.info({ reason: why }, 'stopping');
    r.stop()
      .then(() => r.dataPlane.flush())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          r.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  const onSignal = (sig: NodeJS.Signals) => {
    // First signal drains; a second one means "now" (the exit hook still kills upstream process groups).
    if (++signals > 1) process.exit(130);
    stop(sig);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  running = await startOrExit(() => startGatehouse({ configFile: opts.config, watch: opts.watch, listen: 'stdio' }));
  const r = running;
  process.on('SIGHUP', () => void r.reload());
  if (stopRequested !== undefined) return stop(stopRequested);
  void r.dataPlane.ended.then(stop);
}

import { startOrExit } from './start-or-exit.ts';
import { startGatehouse } from '../main.ts';

export async function serveCommand(opts: { config: string; watch: boolean }): Promise<void> {
  const r = await startOrExit(() => startGatehouse({ configFile: opts.config, watch: opts.watch }));
  process.stderr.write(`gatehouse ${r.dataPlane.url}\n`);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // First signal drains; a second one means "now".
    if (++signals > 1) process.exit(130);
    r.log.info({ signal: sig }, 'draining');
    r.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        r.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => void r.reload());
}

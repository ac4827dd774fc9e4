// A launched HTTP server is usable once its port accepts connections; until then the gateway polls,
// watching the process so that a crash during start-up is reported as such, not as a timeout.
import { connect } from 'node:net';
import { GatewayFault, gatewayError } from '../../errors/codes.ts';
import type { SupervisedProcess } from '../supervisor.ts';

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    // An address that drops packets would otherwise hold each attempt for the OS connect timeout.
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function waitForPort(url: URL, proc: SupervisedProcess, name: string, signal: AbortSignal): Promise<void> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  let wait = 50;
  for (;;) {
    if (signal.aborted) throw signal.reason;
    if (proc.hasExited) {
      const exit = await proc.exited;
      throw new GatewayFault(gatewayError('upstream_unavailable', `upstream "${name}": the launched process ${proc.describeExit(exit)} before ${host}:${port} accepted connections`, { upstream: name }));
    }
    if (await tryConnect(host, port)) return;
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 500);
  }
}

// An "MCP server" that reads stdin and never writes a byte: its handshake never completes.
// It ignores EOF on stdin (only a signal stops it), so a test can tell whether the gateway reaped it.
//   node silent-server.ts [PIDFILE]    appends its pid to PIDFILE, one line per start
import { appendFileSync } from 'node:fs';

const pidFile = process.argv[2];
if (pidFile !== undefined) appendFileSync(pidFile, `${process.pid}\n`);
process.stdin.resume();
process.stdin.on('end', () => undefined);
setInterval(() => undefined, 1 << 30);

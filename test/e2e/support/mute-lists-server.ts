// A 2025-era stdio "MCP server" that completes the handshake and then never answers anything else:
// the gateway gets stuck fetching its lists. Ignores EOF on stdin, so only a signal stops it.
//   node mute-lists-server.ts LOGFILE    appends `pid N` at start and `got <method>` per request
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const log = process.argv[2];
const note = (line: string) => {
  if (log !== undefined) appendFileSync(log, `${line}\n`);
};
note(`pid ${process.pid}`);
const send = (msg: object) => process.stdout.write(`${JSON.stringify(msg)}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  let msg: { id?: unknown; method?: unknown };
  try {
    msg = JSON.parse(line) as typeof msg;
  } catch {
    return;
  }
  if (typeof msg.method !== 'string' || msg.id === undefined) return;
  note(`got ${msg.method}`);
  if (msg.method === 'initialize') {
    send({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'mute-lists', version: '1.0.0' } } });
  } else if (msg.method === 'server/discover') {
    send({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } });
  }
  // Everything else: silence.
});
setInterval(() => undefined, 1 << 30);

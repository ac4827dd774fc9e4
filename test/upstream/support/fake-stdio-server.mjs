// A hand-written legacy stdio MCP server that misbehaves on purpose, for the stdio transport tests.
// It writes lines that are not JSON-RPC, can spawn a grandchild, ask the client a question, hang,
// and exit mid-call. Plain JS so it runs on any Node.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const write = (line) => process.stdout.write(`${line}\n`);
const send = (msg) => write(JSON.stringify(msg));
const text = (id, t) => send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: t }] } });

write('this line is not JSON');
write('{"neither":"is this JSON-RPC"}');
process.stderr.write('fake server starting\n');

const cancelled = [];
const asks = new Map();
let grandchild;

createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line);
  if (msg.method === undefined) {
    // The client's answer to one of our requests.
    const callId = asks.get(msg.id);
    asks.delete(msg.id);
    text(callId, JSON.stringify(msg));
    return;
  }
  if (msg.id === undefined) {
    if (msg.method === 'notifications/cancelled') cancelled.push(msg.params.requestId);
    return;
  }
  switch (msg.method) {
    case 'server/discover':
      send({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } });
      return;
    case 'initialize':
      send({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'fake', version: '0.0.1' }, instructions: 'be nice' } });
      return;
    case 'tools/call':
      break;
    default:
      send({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: `no ${msg.method}` } });
      return;
  }
  switch (msg.params.name) {
    case 'meta':
      text(msg.id, JSON.stringify(msg.params._meta ?? null));
      return;
    case 'noise':
      write('garbage between messages');
      write('[1,2,3]');
      text(msg.id, 'still here');
      return;
    case 'ask': {
      const askId = `ask-${msg.id}`;
      asks.set(askId, msg.id);
      send({ jsonrpc: '2.0', id: askId, method: 'ping' });
      return;
    }
    case 'spawn':
      grandchild = spawn('sleep', ['300'], { stdio: 'ignore' });
      text(msg.id, String(grandchild.pid));
      return;
    case 'cancelled':
      text(msg.id, JSON.stringify(cancelled));
      return;
    case 'hang':
      return;
    case 'exit':
      process.exit(3);
      return;
    case 'close-stdout':
      // Stop talking but keep running: the client must not wait forever.
      process.stdout.end();
      setInterval(() => undefined, 1000);
      return;
    default:
      send({ jsonrpc: '2.0', id: msg.id, error: { code: -32602, message: `unknown tool ${msg.params.name}` } });
  }
});


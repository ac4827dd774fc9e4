// server-everything over stdio, in this very process (so its pid is the one the gateway supervises),
// unless the gate file exists: then it refuses to start. Lets a test keep an upstream down for as
// long as it needs, and bring it back by deleting the file, without racing the restart backoff.
//   node gated-everything.ts GATEFILE
import { existsSync } from 'node:fs';

const gate = process.argv[2];
if (gate === undefined) {
  process.stderr.write('usage: gated-everything.ts GATEFILE\n');
  process.exit(2);
}
if (existsSync(gate)) {
  process.stderr.write(`gate closed (${gate} exists); not starting\n`);
  process.exit(3);
}
const server = new URL('../../../node_modules/@modelcontextprotocol/server-everything/dist/transports/stdio.js', import.meta.url);
await import(server.href);

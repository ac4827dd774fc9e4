// A record is durable before its answer is released: `gatehouse serve` is SIGKILLed under load,
// round after round, on one store. Afterwards every answer a client received has its entry, and the
// chain (continued by each restart) verifies end to end, checkpoints included.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import type { AuditEntry } from '../../../src/audit/entry.ts';
import { storeVerifySource, verifyTrail } from '../../../src/audit/verify.ts';
import { openSqliteStore } from '../../../src/store/sqlite.ts';
import { MODERN_FIXTURE, REPO } from '../../harness/gateway.ts';
import { MODERN } from '../../harness/rpc.ts';
import { launchProcess } from '../../support/processes.ts';

const ROUNDS = 8;
const WORKERS = 8;

describe('audit: crash under load', () => {
  it(`SIGKILL ${ROUNDS} times under load: every answer received has its entry and the chain verifies`, async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-crash-'));
    const file = join(tmp, 'gatehouse.yaml');
    const db = join(tmp, 'state.db');
    writeFileSync(
      file,
      stringify({
        version: 1,
        gateway: { name: 'crashy', listen: { host: '127.0.0.1', port: 0, path: '/mcp', auth: ['local'] } },
        auth: { methods: [{ name: 'local', type: 'anonymous', agent: 'load' }] },
        store: { kind: 'sqlite', path: db },
        audit: { checkpoint: { records: 50 } },
        log: { level: 'warn' },
        upstreams: [{ name: 'fx', transport: 'stdio', command: process.execPath, args: [MODERN_FIXTURE, 'stdio'] }],
      }),
    );
    const received = new Set<string>();
    const perRound: number[] = [];
    const agent = new Agent({ connections: WORKERS, pipelining: 0 });
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const gw = launchProcess(process.execPath, ['bin/gatehouse.js', 'serve', '--config', file], { cwd: REPO });
        try {
          const url = (await gw.waitForOutput(/^gatehouse (http:\/\/\S+)/m, 60_000, 'stderr'))[1]!;
          let stop = false;
          let got = 0;
          const worker = async (w: number) => {
            for (let i = 0; !stop; i++) {
              const id = `r${round}-w${w}-${i}`;
              try {
                const res = await request(url, {
                  method: 'POST',
                  dispatcher: agent,
                  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'fx__echo' },
                  body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'fx__echo', arguments: { message: id }, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } } }),
                });
                const msg = JSON.parse(await res.body.text()) as { id: string; result?: unknown };
                // Only a complete, parsed answer counts as something the agent saw.
                if (msg.id === id && msg.result !== undefined) {
                  received.add(id);
                  got++;
                }
              } catch {
                return; // the gateway is gone
              }
            }
          };
          const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
          // Let load build up, then kill without warning at a point that differs per round.
          while (got < 30 + round * 20) await new Promise((r) => setTimeout(r, 20));
          process.kill(gw.pid, 'SIGKILL');
          await gw.exited;
          stop = true;
          await Promise.all(workers);
          perRound.push(got);
        } finally {
          await gw.stop();
        }
      }
    } finally {
      await agent.close();
    }

    const store = openSqliteStore(db);
    try {
      const recorded = new Set<string>();
      let entries = 0;
      for (const chain of await store.auditChains()) {
        for (let after = 0; ; ) {
          const rows = await store.readAudit(chain.chain, after, 1000);
          if (rows.length === 0) break;
          for (const r of rows) {
            const e = JSON.parse(r.text) as AuditEntry;
            if (typeof e.requestId === 'string') recorded.add(e.requestId);
            entries++;
          }
          after = rows[rows.length - 1]!.seq;
        }
      }
      const missing = [...received].filter((id) => !recorded.has(id));
      assert.deepEqual(missing, [], `answers received without an entry (of ${received.size} received, per round ${perRound.join(', ')})`);
      assert.ok(entries >= received.size);
      const report = await verifyTrail(storeVerifySource(store));
      assert.equal(report.ok, true, JSON.stringify(report, null, 2));
      assert.ok(perRound.every((n) => n > 0), `each round got answers: ${perRound.join(', ')}`);
    } finally {
      await store.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

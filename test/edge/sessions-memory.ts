// Prints the heap cost of idle 2025-era sessions. A measurement, not a test: nothing is asserted.
// Run: npx node --expose-gc test/edge/sessions-memory.ts [count]
import { SessionTable } from '../../src/edge/sessions.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('run with --expose-gc');
  process.exit(1);
}
const COUNT = Number(process.argv[2] ?? 10_000);

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

function measure(label: string, makeSession: (id: string, i: number) => unknown): void {
  const before = heapAfterGc();
  const table = new SessionTable<unknown>({ maxSessions: COUNT, sessionIdleSeconds: 1800 });
  for (let i = 0; i < COUNT; i++) table.create((id) => makeSession(id, i));
  const after = heapAfterGc();
  const per = (after - before) / COUNT;
  console.log(`${label.padEnd(48)} ${COUNT} sessions: heap +${((after - before) / 1024 / 1024).toFixed(2)} MiB, ${per.toFixed(0)} B/session`);
  table.closeAll();
}

// The table's own cost: id string, map entry, record.
measure('table only (session = shared object)', () => null);
// Roughly what src/edge/agent-session.ts keeps per idle session after a typical initialize
// (declared capabilities and clientInfo parsed from the agent's request, no stream, nothing in flight).
measure('table + AgentSession-shaped record', (id, i) =>
  JSON.parse(
    JSON.stringify({
      id,
      protocolVersion: '2025-11-25',
      clientCapabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} },
      clientInfo: { name: 'claude-code', version: `2.1.${i % 50}` },
      principalId: `user-${i % 100}@example.com`,
      initialized: true,
      logLevel: undefined,
      stream: undefined,
      inflight: undefined,
    }),
  ),
);

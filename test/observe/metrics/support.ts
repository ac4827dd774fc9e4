// A real Gateway without listeners or upstreams, and exchange records made to order: enough to drive
// the metrics observer and collectors without a network.
import { pino } from 'pino';
import { stringify } from 'yaml';
import { compileConfig } from '../../../src/config/compile.ts';
import { parseConfigText } from '../../../src/config/load.ts';
import type { Snapshot } from '../../../src/config/snapshot.ts';
import { Gateway } from '../../../src/core/gateway.ts';
import type { ExchangeRecord } from '../../../src/pipeline/record.ts';
import { MemoryStore } from '../../../src/store/memory.ts';

export function snapshotOf(config: Record<string, unknown> = {}): Snapshot {
  const full = {
    version: 1,
    auth: { methods: [{ name: 'anon', type: 'anonymous', agent: 'test-agent' }] },
    gateway: { listen: { host: '127.0.0.1', port: 0, auth: ['anon'] } },
    audit: { enabled: false },
    ...config,
  };
  return compileConfig(parseConfigText(stringify(full), `${process.cwd()}/gatehouse.yaml`, {}));
}

export function bareGateway(config: Record<string, unknown> = {}): Gateway {
  return new Gateway(snapshotOf(config), new MemoryStore(), pino({ level: 'silent' }));
}

/** A finished tools/call allowed by policy unless `over` says otherwise. */
export function record(over: Partial<ExchangeRecord> = {}): ExchangeRecord {
  return {
    id: 'x1',
    time: new Date(0).toISOString(),
    durationMs: 3,
    upstreamMs: 2,
    era: 'modern',
    protocolVersion: '2026-07-28',
    sessionId: undefined,
    clientAddress: '127.0.0.1',
    principal: { id: 'anon::test-agent:', authMethod: 'anonymous', authSource: 'anon', agent: 'test-agent', roles: [], groups: [], scopes: [] },
    method: 'tools/call',
    rpcId: 1,
    target: { kind: 'tool', upstream: 'fx', name: 'fx__echo', upstreamName: 'echo' },
    decisions: [{ filter: 'policy', phase: 'authorize', kind: 'continue', shadow: false, micros: 3 }],
    policy: { effect: 'allow', rule: 'reads', reason: 'rule', message: '', shadow: undefined },
    outcome: 'ok',
    error: undefined,
    bytesIn: 100,
    bytesOut: 200,
    traceId: undefined,
    cache: undefined,
    params: undefined,
    response: undefined,
    ...over,
  };
}

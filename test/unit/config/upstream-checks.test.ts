// Upstream traffic settings that contradict each other are refused where they are written.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig } from '../../../src/config/compile.ts';
import { ConfigError } from '../../../src/config/errors.ts';
import { parseConfigText } from '../../../src/config/load.ts';

const HEAD = `version: 1
auth: { methods: [{ name: anon, type: anonymous, agent: a }] }
gateway: { listen: { auth: [anon] } }
upstreams:
`;

function problems(upstream: string): string[] {
  try {
    compileConfig(parseConfigText(HEAD + upstream, '/cfg/gatehouse.yaml', {}));
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
  }
}

describe('upstream traffic settings', () => {
  it('refuses deadlines above maxTimeoutMs, naming the line', () => {
    assert.deepEqual(
      problems(`  - name: a
    transport: stdio
    command: a
    timeoutMs: 5000
    maxTimeoutMs: 1000
    toolTimeoutsMs:
      slow_*: 2000
      fast: 500
`),
      ['8:16: timeoutMs (5000) is above maxTimeoutMs (1000)', '11:15: 2000 is above maxTimeoutMs (1000)'],
    );
  });

  it('refuses a retry delay range upside down, and an endpoint listed twice', () => {
    assert.deepEqual(
      problems(`  - name: b
    transport: streamable-http
    url: http://127.0.0.1:9/mcp
    replicaUrls: [http://127.0.0.1:10/mcp, http://127.0.0.1:9/mcp]
    retry: { initialDelayMs: 500, maxDelayMs: 100 }
`),
      ['8:44: http://127.0.0.1:9/mcp is already an endpoint of this upstream', '9:47: maxDelayMs must be at least initialDelayMs'],
    );
  });

  it('accepts consistent settings', () => {
    assert.deepEqual(problems(`  - { name: c, transport: stdio, command: c, replicas: 3, timeoutMs: 1000, toolTimeoutsMs: { x: 2000 }, maxTimeoutMs: 2000 }\n`), []);
  });
});

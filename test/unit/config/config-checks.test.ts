// Settings that contradict each other are refused where they are written: upstream deadlines and endpoints, the metrics path.
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

describe('contradicting settings', () => {
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

  it('refuses a metrics path that would hide a probe or an admin route', () => {
    const at = (path: string) => {
      try {
        compileConfig(parseConfigText(`${HEAD}  []\ntelemetry:\n  metrics:\n    path: ${path}\n`, '/cfg/gatehouse.yaml', {}));
        return [];
      } catch (err) {
        return (err as ConfigError).problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
      }
    };
    assert.deepEqual(at('/readyz'), ['8:11: /readyz is taken on the admin listener (probes /healthz, /readyz and the admin API under /v1/); choose another path']);
    assert.equal(at('/v1/traffic').length, 1);
    assert.deepEqual(at('/prometheus'), []);
  });

  it('accepts consistent settings', () => {
    assert.deepEqual(problems(`  - { name: c, transport: stdio, command: c, replicas: 3, timeoutMs: 1000, toolTimeoutsMs: { x: 2000 }, maxTimeoutMs: 2000 }\n`), []);
  });
});

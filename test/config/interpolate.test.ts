import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/config/load.ts';
import { expand } from '../../src/config/interpolate.ts';

function load(text: string, env: NodeJS.ProcessEnv) {
  return parseConfigText(`version: 1\n${text}`, '/cfg/g.yaml', env).config;
}

function rejected(text: string, env: NodeJS.ProcessEnv): ConfigError {
  try {
    parseConfigText(`version: 1\n${text}`, '/cfg/g.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail('expected the config to be rejected');
}

describe('interpolation', () => {
  it('substitutes variables and defaults inside strings', () => {
    const cfg = load('gateway:\n  name: gw-${REGION}-${ZONE:-a}\n  instructions: "${UNSET:-fallback} and ${EMPTY:-used}"\n', {
      REGION: 'eu',
      EMPTY: '',
    });
    assert.equal(cfg.gateway.name, 'gw-eu-a');
    assert.equal(cfg.gateway.instructions, 'fallback and used');
  });

  it('keeps a set-but-empty variable empty when it has no default', () => {
    assert.equal(load('gateway:\n  instructions: "[${EMPTY}]"\n', { EMPTY: '' }).gateway.instructions, '[]');
  });

  it('reports an unset variable at its scalar, naming it', () => {
    const err = rejected('gateway:\n  listen:\n    host: ${BIND_HOST}\n  name: ${A}-${B}\n', { A: 'x' });
    assert.deepEqual(
      err.problems.map((p) => `${p.line}:${p.column}: ${p.message}`),
      [
        '4:11: environment variable BIND_HOST is not set (use ${BIND_HOST:-default} to give a default)',
        '5:9: environment variable B is not set (use ${B:-default} to give a default)',
      ],
    );
  });

  it('turns $${ into a literal ${', () => {
    const cfg = load('gateway:\n  name: "$${NOT_A_VAR}"\n  instructions: cost $$5 and $${X:-y} and ${X}\n', { X: 'x' });
    assert.equal(cfg.gateway.name, '${NOT_A_VAR}');
    assert.equal(cfg.gateway.instructions, 'cost $$5 and ${X:-y} and x');
  });

  it('re-reads a whole plain interpolation as YAML, so numbers and booleans work', () => {
    const cfg = load('gateway:\n  listen:\n    port: ${PORT}\n  pageSize: ${PAGE:-50}\nlog:\n  pretty: ${PRETTY}\n', {
      PORT: '9000',
      PRETTY: 'true',
    });
    assert.equal(cfg.gateway.listen.port, 9000);
    assert.equal(cfg.gateway.pageSize, 50);
    assert.equal(cfg.log.pretty, true);
  });

  it('keeps quoted and partial interpolations as strings', () => {
    assert.equal(load('gateway:\n  name: "${N}"\n', { N: '123' }).gateway.name, '123');
    const err = rejected('gateway:\n  listen: { port: "${PORT}" }\n', { PORT: '9000' });
    assert.match(err.message, /:3:19: expected number, got string from \$\{PORT\}$/);
    assert.equal(load('gateway:\n  name: ${A}${B}\n', { A: '1', B: '2' }).gateway.name, '12');
    assert.equal(load("gateway:\n  name: !!str ${N}\n", { N: '7' }).gateway.name, '7');
    // A re-read never swallows text: only scalars that are numbers, booleans or null change type.
    assert.equal(load('gateway:\n  name: ${N}\n', { N: 'a # b' }).gateway.name, 'a # b');
  });

  it('explains the flow-collection pitfall of unquoted ${...}', () => {
    const err = rejected('gateway:\n  listen: { port: ${PORT} }\n', { PORT: '1' });
    assert.match(err.problems[0]!.message, /inside \{ \} or \[ \], quote the \$\{\.\.\.\} or use block style/);
    assert.equal(err.problems.length, 1, err.message);
  });

  it('interpolates in lists and maps but not in keys', () => {
    const cfg = load(
      'upstreams:\n  - name: a\n    transport: stdio\n    command: ${CMD}\n    args: ["--token", "${TOKEN}"]\n    env: { "${KEY}": "${VAL}" }\n',
      { CMD: 'run', TOKEN: 't', KEY: 'k', VAL: 'v' },
    );
    const up = cfg.upstreams[0]!;
    assert.ok(up.transport === 'stdio');
    assert.equal(up.command, 'run');
    assert.deepEqual(up.args, ['--token', 't']);
    assert.deepEqual(up.env, { '${KEY}': 'v' });
  });

  it('never puts an interpolated value in an error message', () => {
    const secret = 'hunter2-sekrit';
    const env = { TOKEN: secret, LEVEL: secret, PORT: secret, URL: secret };
    const err = rejected(
      'gateway:\n  listen:\n    port: ${PORT}\n    path: "${TOKEN}"\nlog:\n  level: ${LEVEL}\nupstreams:\n  - { name: a, transport: sse, url: "${URL}" }\n',
      env,
    );
    assert.equal(err.problems.length, 4, err.message);
    assert.ok(!err.message.includes(secret), err.message);
    assert.ok(!err.message.includes('hunter'), err.message);
    assert.match(err.message, /expected number, got string from \$\{PORT\}/);
    assert.match(err.message, /must match the pattern .*, got the value from \$\{TOKEN\}/);
    assert.match(err.message, /invalid level: the value from \$\{LEVEL\} \(allowed: /);
    assert.match(err.message, /must be an http:\/\/ or https:\/\/ URL, got the value from \$\{URL\}/);
  });

  it('tells later stages which values came from the environment', () => {
    const loaded = parseConfigText('version: 1\ngateway:\n  name: gw-${REGION}\n  pageSize: 5\n', '/cfg/g.yaml', { REGION: 'eu' });
    assert.deepEqual(loaded.envSources(['gateway', 'name']), ['REGION']);
    assert.equal(loaded.envSources(['gateway', 'pageSize']), undefined);
    assert.equal(loaded.envSources(['gateway', 'absent']), undefined);
  });

  it('rejects malformed references instead of passing them through', () => {
    const err = rejected('gateway:\n  name: ${1X}\n  instructions: "${OPEN"\nlog:\n  level: ${A:-${B}}\n', {});
    assert.deepEqual(
      err.problems.map((p) => `${p.line}:${p.column}: ${p.message}`),
      [
        '3:9: malformed "${1X}": expected ${NAME} or ${NAME:-default} (write "$${" for a literal "${")',
        '4:17: unclosed "${" (write "$${" for a literal "${")',
        '6:10: nested interpolation in the default of ${A} is not supported',
      ],
    );
  });

  it('expand() reports every unset variable in one value', () => {
    const r = expand('${A}/${B}/${C:-c}', {});
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.errors.length === 2);
  });
});

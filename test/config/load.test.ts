import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configProblem, loadConfig, parseConfigText } from '../../src/config/load.ts';
import { formatProblem } from '../../src/config/errors.ts';

/** The problems of a config text as `line:column: message`, in the order reported. */
function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, '/cfg/gatehouse.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
  }
  assert.fail('expected the config to be rejected');
}

describe('parseConfigText', () => {
  it('accepts a minimal config and applies defaults', () => {
    const loaded = parseConfigText('version: 1\n', 'rel/gatehouse.yaml', {});
    assert.equal(loaded.config.gateway.listen.port, 8080);
    assert.deepEqual(loaded.config.upstreams, []);
    assert.ok(loaded.file.endsWith('/rel/gatehouse.yaml') && loaded.file.startsWith('/'));
    assert.equal(loaded.dir, loaded.file.slice(0, loaded.file.lastIndexOf('/')));
    assert.ok(Object.isFrozen(loaded.config.gateway.listen), 'config is frozen');
  });

  it('points an unknown key at the key and lists the allowed ones', () => {
    assert.deepEqual(problems('version: 1\ngateway:\n  listen:\n    port: 1\n    prot: 2\n'), [
      '5:5: unknown key "prot" (did you mean "port"? allowed: host, port, path, auth, tls, userAssertion)',
    ]);
    assert.deepEqual(problems('version: 1\nbogus: true\n'), [
      '2:1: unknown key "bogus" (allowed: version, gateway, auth, admin, policy, traffic, audit, store, log, telemetry, upstreams)',
    ]);
  });

  it('points a bad enum at the value and lists the allowed values', () => {
    assert.deepEqual(problems('version: 1\nlog:\n  level: loud\n'), [
      '3:10: invalid level "loud" (allowed: fatal, error, warn, info, debug, trace, silent)',
    ]);
  });

  it('reports a wrong type with what it got', () => {
    assert.deepEqual(problems('version: 1\ngateway:\n  listen: { port: abc }\n'), ['3:19: expected number, got string "abc"']);
    assert.deepEqual(problems('version: 1\ngateway:\n  listen:\n    port: 1.5\n'), ['4:11: expected integer, got number 1.5']);
    assert.deepEqual(problems('version: 1\nupstreams: {}\n'), ['2:12: expected list, got mapping']);
  });

  it('points a missing required key at its parent mapping', () => {
    assert.deepEqual(problems('gateway: {}\n'), ['1:1: missing required key "version" (expected 1)']);
    const text = 'version: 1\nupstreams:\n  - transport: stdio\n    command: x\n';
    assert.deepEqual(problems(text), ['3:5: missing required key "name"']);
  });

  it('lists the transports when the discriminator is missing or wrong', () => {
    const text = 'version: 1\nupstreams:\n  - name: a\n    command: x\n  - name: b\n    transport: ws\n';
    assert.deepEqual(problems(text), [
      '3:5: missing required key "transport" (allowed: stdio, streamable-http, sse)',
      '6:16: invalid transport "ws" (allowed: stdio, streamable-http, sse)',
    ]);
  });

  it('checks unknown keys against the upstream kind selected by transport', () => {
    const text = 'version: 1\nupstreams:\n  - name: a\n    transport: stdio\n    command: x\n    url: http://x\n';
    const [p] = problems(text);
    assert.match(p!, /^6:5: unknown key "url" \(allowed: name, prefix, .*transport, replicas, command, args, env, cwd\)$/);
  });

  it('reports every problem at once, sorted by position', () => {
    const text = [
      'version: 2', //                1
      'log:', //                      2
      '  level: loud', //             3
      '  extra: 1', //                4
      'gateway:', //                  5
      '  pageSize: 0', //             6
      '  naming: { separator: "" }', // 7
      'upstreams:', //                8
      '  - name: 9bad', //            9
      '    transport: sse', //        10
      '    url: ftp://x', //          11
    ].join('\n');
    assert.deepEqual(problems(text), [
      '1:10: invalid version 2 (expected 1)',
      '3:10: invalid level "loud" (allowed: fatal, error, warn, info, debug, trace, silent)',
      '4:3: unknown key "extra" (allowed: level, pretty)',
      '6:13: must be at least 1, got 0',
      '7:24: must match the pattern /^[A-Za-z0-9_.-]{1,3}$/, got ""',
      '9:11: must start with a letter and use only letters, digits, "_" and "-" (at most 32 characters)',
      '11:10: must be an http:// or https:// URL, got "ftp://x"',
    ]);
  });

  it('names every accepted type when a union of plain types fails', () => {
    const text = 'version: 1\nupstreams:\n  - name: a\n    transport: stdio\n    command: x\n    env:\n      A: [1]\n      B: 3\n';
    assert.deepEqual(problems(text), ['7:10: expected string, number or boolean, got list']);
  });

  it('points an empty value at its key', () => {
    assert.deepEqual(problems('version: 1\ngateway:\n  drainSeconds:\n'), ['3:3: expected number, got null']);
  });

  it('reports YAML syntax errors as file:line:column', () => {
    const err = (() => {
      try {
        parseConfigText('version: 1\ngateway: [1, 2\nlog: {}\n', '/cfg/g.yaml', {});
      } catch (e) {
        return e as ConfigError;
      }
      assert.fail('expected a syntax error');
    })();
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^\/cfg\/g\.yaml:3:1: .*\]/);
    assert.equal(err.message, err.problems.map(formatProblem).join('\n'));
  });

  it('rejects duplicate keys', () => {
    assert.deepEqual(problems('version: 1\nlog:\n  level: info\n  level: warn\n'), ['4:3: duplicate key "level"']);
  });

  it('rejects unknown aliases, collection keys and extra documents', () => {
    assert.deepEqual(problems('version: 1\nlog: *nope\n'), ['2:6: unknown alias "*nope"']);
    assert.deepEqual(problems('version: 1\n? [a]\n: 1\n'), ['2:3: keys must be plain values, not lists or mappings']);
    assert.match(problems('version: 1\n---\nversion: 1\n')[0]!, /^2:1: .*multiple documents/i);
  });

  it('follows anchors and merge keys, and points into them', () => {
    const text = [
      'version: 1',
      'x-base: &base { transport: stdio, command: run, timeoutMs: -1 }',
      'upstreams:',
      '  - <<: *base',
      '    name: a',
    ].join('\n');
    assert.deepEqual(problems(text), [
      '2:1: unknown key "x-base" (allowed: version, gateway, auth, admin, policy, traffic, audit, store, log, telemetry, upstreams)',
      '2:60: must be greater than 0, got -1',
    ]);
    const ok = parseConfigText('version: 1\nupstreams:\n  - &a { name: a, transport: stdio, command: run }\n  - <<: *a\n    name: b\n', 'g.yaml', {});
    assert.deepEqual(ok.config.upstreams.map((u) => u.name), ['a', 'b']);
  });

  it('says clearly when the file is empty or not a mapping', () => {
    assert.deepEqual(problems(''), ['1:1: config file is empty (it needs at least "version: 1")']);
    assert.deepEqual(problems('# nothing here\n'), ['1:1: config file is empty (it needs at least "version: 1")']);
    assert.deepEqual(problems('- version: 1\n'), ['1:1: expected a mapping of settings at the top level, got a list']);
    assert.deepEqual(problems('just text\n'), ['1:1: expected a mapping of settings at the top level, got a single value']);
  });

  it('locates paths for later problems (compile)', () => {
    const loaded = parseConfigText('version: 1\nupstreams:\n  - name: a\n    transport: stdio\n    command: x\n', '/c/g.yaml', {});
    assert.deepEqual(loaded.locate(['upstreams', 0, 'name']), { line: 3, column: 11 });
    assert.deepEqual(loaded.locate(['upstreams', 0, 'cwd']), { line: 3, column: 5 }, 'missing: nearest parent');
    assert.deepEqual(loaded.locate(['gateway', 'listen']), { line: 1, column: 1 }, 'absent section: the root');
    assert.deepEqual(configProblem(loaded, ['upstreams', 0, 'command'], 'no such file'), {
      file: '/c/g.yaml',
      line: 5,
      column: 14,
      message: 'no such file',
    });
  });
});

describe('loadConfig', () => {
  it('reads a file, and says clearly when it is missing or unreadable', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-load-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'gatehouse.yaml');
    await writeFile(file, '\uFEFFversion: 1\ngateway:\n  listen:\n    port: ${PORT}\n');
    const loaded = await loadConfig(file, { PORT: '9001' });
    assert.equal(loaded.config.gateway.listen.port, 9001);
    assert.equal(loaded.dir, dir);

    await assert.rejects(loadConfig(join(dir, 'absent.yaml')), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `${join(dir, 'absent.yaml')}: config file not found`);
      return true;
    });
    await mkdir(join(dir, 'sub'));
    await assert.rejects(loadConfig(join(dir, 'sub')), /is a directory, not a config file$/);
    await writeFile(join(dir, 'latin1.yaml'), Buffer.from('version: 1\ngateway: { name: "caf\xe9" }\n', 'latin1'));
    await assert.rejects(loadConfig(join(dir, 'latin1.yaml')), /config file is not valid UTF-8$/);
  });
});

// Compiling `policy`: inline rules then each policy file's, in order, into one immutable policy. Every
// mistake is refused at load (and so at reload and `gatehouse validate`) with file:line:column and a
// message that says what is wrong; nothing half-compiled ever serves.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../../../src/config/compile.ts';
import { ConfigError, loadConfig, parseConfigText } from '../../../src/config/load.ts';
import type { Snapshot } from '../../../src/config/snapshot.ts';

const FILE = '/cfg/gatehouse.yaml';

// Lines 1-9; policies written after it start at line 10.
const HEAD = `version: 1
auth:
  methods: [{ name: keys, type: api_key }]
gateway:
  listen: { auth: [keys] }
  environment: prod
upstreams:
  - { name: fs, transport: stdio, command: fs-server }
  - { name: web, transport: stdio, command: web-server }
`;

function snapshot(text: string): Snapshot {
  return compileConfig(parseConfigText(text, FILE, {}));
}

/** `line:column: message` of every problem compile finds (parse problems included). */
function problems(text: string): string[] {
  try {
    snapshot(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    for (const p of err.problems) assert.equal(p.file, FILE);
    return err.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
  }
  assert.fail('expected the config to be rejected');
}

async function loadProblems(file: string): Promise<string[]> {
  try {
    compileConfig(await loadConfig(file, {}));
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
  }
  assert.fail('expected the config to be rejected');
}

describe('compilePolicy: what a valid policy compiles to', () => {
  it('no policy section: no policy and no policy filter (every authenticated caller may use everything)', () => {
    const s = snapshot(HEAD);
    assert.equal(s.policy, undefined);
    assert.ok(!s.filters.some((f) => f.name === 'policy'));
  });

  it('an empty policy section denies by default, enforces, and classes unknown tools high_risk_write', () => {
    const s = snapshot(`${HEAD}policy: {}\n`);
    const p = s.policy;
    assert.ok(p);
    assert.equal(p.defaultEffect, 'deny');
    assert.equal(p.shadow, false);
    assert.equal(p.zone, 'UTC');
    assert.equal(p.environment, 'prod');
    assert.deepEqual(p.rules, []);
    assert.equal(p.hasShadowRules, false);
    assert.equal(p.classes.classOf('fs', 'x', undefined), 'high_risk_write');
    const f = s.filters.find((x) => x.name === 'policy');
    assert.ok(f, 'the policy filter is installed');
    assert.equal(f.phase, 'authorize');
    assert.equal(f.shadow, false);
  });

  it('keeps rule order, names, effects and where each is written; freezes the result', () => {
    const p = snapshot(
      `${HEAD}policy:
  default: allow
  timezone: Europe/Berlin
  rules:
    - name: first
      effect: deny
      message: no
      reveal: true
    - name: second
      effect: require_approval
      when: { tools: [fs__*] }
    - name: third
      effect: allow
      shadow: true
      when: { prompts: [p], resources: ["demo://*"] }
`,
    ).policy;
    assert.ok(p);
    assert.equal(p.defaultEffect, 'allow');
    assert.equal(p.zone, 'Europe/Berlin');
    assert.deepEqual(
      p.rules.map((r) => [r.name, r.index, r.effect, r.message, r.reveal, r.shadow, r.where]),
      [
        ['first', 0, 'deny', 'no', true, false, `${FILE}:14`],
        ['second', 1, 'require_approval', undefined, false, false, `${FILE}:18`],
        ['third', 2, 'allow', undefined, false, true, `${FILE}:21`],
      ],
    );
    // Which target kinds each rule can apply to: all, tools only, prompts and resources.
    assert.deepEqual(p.rules.map((r) => r.kinds), [7, 1, 6]);
    assert.equal(p.hasShadowRules, true);
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.rules) && p.rules.every((r) => Object.isFrozen(r)));
  });

  it('whole-policy shadow mode marks the policy filter as shadow', () => {
    const s = snapshot(`${HEAD}policy: { shadow: true }\n`);
    assert.equal(s.policy?.shadow, true);
    assert.equal(s.filters.find((x) => x.name === 'policy')?.shadow, true);
  });

  it('accepts upstream globs that match no upstream today (upstreams come and go), and exact names that exist', () => {
    const p = snapshot(`${HEAD}policy:\n  rules:\n    - { name: a, effect: allow, when: { upstreams: [fs, "w*", "later-*"] } }\n`).policy;
    assert.equal(p?.rules.length, 1);
  });
});

describe('compilePolicy: mistakes in inline rules, each at its file:line:column', () => {
  it('a duplicate rule name, pointing at the first', () => {
    assert.deepEqual(problems(`${HEAD}policy:\n  rules:\n    - name: a\n      effect: allow\n    - name: a\n      effect: deny\n`), [
      `14:13: duplicate rule name "a" (first at ${FILE}:12)`,
    ]);
  });

  it('a CEL condition that does not parse, does not type-check, or is not a bool', () => {
    const text = `${HEAD}policy:
  rules:
    - name: syntax
      effect: allow
      when: { condition: "args.x >" }
    - name: unknown-var
      effect: allow
      when: { condition: "request.x == 1" }
    - name: not-bool
      effect: allow
      when: { condition: "1 + 2" }
    - name: bad-regex
      effect: allow
      when: { condition: "principal.agent.matches('[')" }
    - name: arg-syntax
      effect: allow
      arguments: { condition: "args.x ==" }
`;
    assert.deepEqual(problems(text), [
      '14:26: rule "syntax": condition: Unexpected token: EOF at column 9',
      '17:26: rule "unknown-var": condition: Unknown variable: request at column 1: request',
      '20:26: rule "not-bool": condition: condition must be a bool, but it is int',
      '23:26: rule "bad-regex": condition: invalid regular expression "[" in matches(): Invalid regular expression: /[/: Unterminated character class',
      '26:31: rule "arg-syntax": condition: Unexpected token: EOF at column 10',
    ]);
  });

  it('a JSON Schema with a misspelt keyword (ajv strict mode), a wrong type name, or a dangling $ref', () => {
    const text = `${HEAD}policy:
  rules:
    - name: typo
      effect: allow
      arguments: { schema: { type: object, propertees: { path: { type: string } } } }
    - name: bad-type
      effect: allow
      arguments: { schema: { type: strin } }
    - name: bad-ref
      effect: allow
      arguments: { schema: { $ref: "#/nowhere" } }
`;
    assert.deepEqual(problems(text), [
      '14:28: rule "typo": invalid JSON Schema: strict mode: unknown keyword: "propertees"',
      '17:28: rule "bad-type": invalid JSON Schema: schema is invalid: data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf',
      '20:28: rule "bad-ref": invalid JSON Schema: can\'t resolve reference #/nowhere from id #',
    ]);
  });

  it('time windows: an unknown zone (rule or policy default), a bad time, a bad day, an empty window', () => {
    const text = `${HEAD}policy:
  timezone: Nowhere/Land
  rules:
    - name: zone
      effect: allow
      when: { time: { timezone: Mars/Base, from: "09:00" } }
    - name: list
      effect: allow
      when:
        time: [{ from: "25:00" }, { days: [funday] }]
    - name: empty
      effect: allow
      when: { time: { from: "10:00", to: "10:00" } }
`;
    assert.deepEqual(problems(text), [
      '11:13: unknown time zone "Nowhere/Land"',
      '15:33: rule "zone": unknown time zone "Mars/Base"',
      '19:24: rule "list": "25:00" is not a time (HH:MM, 00:00-24:00)',
      '19:43: rule "list": "funday" is not a day (mon..sun, or a range like mon-fri)',
      '22:42: rule "empty": from and to are equal: the window would be empty',
    ]);
  });

  it('client addresses that are not an IP or a CIDR range, or have a prefix too long for their family', () => {
    const text = `${HEAD}policy:\n  rules:\n    - name: nets\n      effect: allow\n      when:\n        clients: [10.0.0.0/33, not-an-ip, 1.2.3.4/8/2, "::1/129", 10.0.0.0/x, "fe80::/64"]\n`;
    assert.deepEqual(problems(text), [
      '15:19: rule "nets": "10.0.0.0/33": prefix length must be 0-32',
      '15:32: rule "nets": "not-an-ip" is not an IP address or CIDR range',
      '15:43: rule "nets": "1.2.3.4/8/2" is not an IP address or CIDR range',
      '15:56: rule "nets": "::1/129": prefix length must be 0-128',
      '15:67: rule "nets": "10.0.0.0/x": prefix length must be 0-32',
    ]);
  });

  it('an exact upstream name no upstream has (a typo would make the rule never match)', () => {
    assert.deepEqual(problems(`${HEAD}policy:\n  rules:\n    - name: up\n      effect: deny\n      when: { upstreams: [fs, wbe] }\n`), [
      '14:31: rule "up": no upstream is named "wbe"',
    ]);
  });

  it('fields that make no sense for the effect: reveal or message on allow, arguments on deny, empty arguments', () => {
    const text = `${HEAD}policy:
  rules:
    - name: reveal-allow
      effect: allow
      reveal: true
    - name: reveal-approval
      effect: require_approval
      reveal: true
    - name: message-allow
      effect: allow
      message: hello
    - name: args-deny
      effect: deny
      arguments: { condition: "true" }
    - name: empty-args
      effect: allow
      arguments: {}
`;
    assert.deepEqual(problems(text), [
      '14:15: rule "reveal-allow": reveal applies to deny rules only',
      '17:15: rule "reveal-approval": reveal applies to deny rules only',
      '20:16: rule "message-allow": an allow rule shows no message (put it on a deny or require_approval rule, or under arguments)',
      '23:18: rule "args-deny": a deny rule has no argument constraints: match the arguments in when.condition instead',
      '26:18: rule "empty-args": arguments needs a schema or a condition',
    ]);
  });

  it('schema-level mistakes: a bad rule name, an unknown effect or class, an unknown key', () => {
    const text = `${HEAD}policy:
  rules:
    - name: "bad name!"
      effect: allow
    - name: e
      effect: permit
    - name: c
      effect: allow
      when: { classes: [dangerous], tool: [x] }
`;
    assert.deepEqual(problems(text), [
      '12:13: must start with a letter or digit and use only letters, digits, "_", ".", ":" and "-" (at most 64 characters)',
      '15:15: invalid effect "permit" (allowed: allow, deny, require_approval)',
      '18:25: invalid value "dangerous" (allowed: read_only, low_risk_write, high_risk_write)',
      '18:37: unknown key "tool" (did you mean "tools"? allowed: agents, users, tenants, roles, groups, scopes, authMethods, upstreams, tools, prompts, resources, classes, annotations, methods, environments, clients, time, condition)',
    ]);
  });

  it('one bad rule fails the whole config: no policy serves with a rule missing', () => {
    assert.throws(() => snapshot(`${HEAD}policy:\n  rules:\n    - { name: ok, effect: deny }\n    - { name: bad, effect: allow, when: { condition: "(" } }\n`), ConfigError);
  });
});

describe('compilePolicy: policy files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-files-'));
    mkdirSync(join(dir, 'policies'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const config = (name: string, policy: string) => write(name, `${HEAD}policy:\n${policy}`);

  it('rules of policy files follow the inline ones, in the order the files are named; paths resolve against the config\'s folder', async () => {
    write('policies/one.yaml', 'rules:\n  - name: one-a\n    effect: deny\n  - name: one-b\n    effect: allow\n');
    write('policies/two.yaml', '# second\nrules:\n  - name: two-a\n    effect: require_approval\n');
    const file = config('ordered.yaml', '  rules:\n    - { name: inline, effect: allow }\n  files: [policies/two.yaml, policies/one.yaml]\n');
    const loaded = await loadConfig(file, {});
    assert.deepEqual(loaded.policyFiles.map((f) => f.file), [join(dir, 'policies/two.yaml'), join(dir, 'policies/one.yaml')]);
    const p = compileConfig(loaded).policy;
    assert.ok(p);
    assert.deepEqual(
      p.rules.map((r) => [r.name, r.index, r.where]),
      [
        ['inline', 0, `${file}:12`],
        ['two-a', 1, `${join(dir, 'policies/two.yaml')}:3`],
        ['one-a', 2, `${join(dir, 'policies/one.yaml')}:2`],
        ['one-b', 3, `${join(dir, 'policies/one.yaml')}:4`],
      ],
    );
  });

  it('a rule name used inline and again in a file is reported in the file, naming the first', async () => {
    write('policies/dup.yaml', 'rules:\n  - name: shared\n    effect: deny\n');
    write('policies/dup2.yaml', 'rules:\n  - name: other\n    effect: deny\n  - name: other\n    effect: allow\n');
    const file = config('dup.yaml', '  rules:\n    - name: shared\n      effect: allow\n  files: [policies/dup.yaml, policies/dup2.yaml]\n');
    assert.deepEqual(await loadProblems(file), [
      `${join(dir, 'policies/dup.yaml')}:2:11: duplicate rule name "shared" (first at ${file}:12)`,
      `${join(dir, 'policies/dup2.yaml')}:4:11: duplicate rule name "other" (first at ${join(dir, 'policies/dup2.yaml')}:2)`,
    ]);
  });

  it('a missing file (or a folder) is reported where policy.files names it', async () => {
    const file = config('missing.yaml', '  files:\n    - policies/nope.yaml\n    - policies\n');
    assert.deepEqual(await loadProblems(file), [
      `${file}:12:7: policy file policies/nope.yaml: file not found`,
      `${file}:13:7: policy file policies: is a directory, not a file`,
    ]);
  });

  it('problems inside a policy file are reported in that file: syntax, duplicate keys, unknown keys, compile errors, emptiness', async () => {
    const syntax = write('policies/syntax.yaml', 'rules:\n  - name: x\n    effect: [deny\n');
    const dupKey = write('policies/dupkey.yaml', 'rules:\n  - name: x\n    effect: deny\n    effect: allow\n');
    const unknown = write('policies/unknown.yaml', 'rules:\n  - name: y\n    effect: deny\n    whom: {}\n');
    const cel = write('policies/cel.yaml', 'rules:\n  - name: z\n    effect: allow\n    when: { condition: "args.x >" }\n');
    const empty = write('policies/empty.yaml', '');
    const file = config('inside.yaml', '  files: [policies/syntax.yaml, policies/dupkey.yaml, policies/unknown.yaml, policies/cel.yaml, policies/empty.yaml]\n');
    const got = await loadProblems(file);
    // Load stops before compiling when a file cannot be read as a policy file at all.
    assert.deepEqual(got, [
      `${dupKey}:4:5: duplicate key "effect"`,
      `${empty}:1:1: policy file is empty (it needs a "rules:" list)`,
      `${syntax}:4:1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
      `${unknown}:4:5: unknown key "whom" (allowed: name, description, effect, message, when, arguments, reveal, shadow)`,
    ]);
    const only = config('cel-only.yaml', '  files: [policies/cel.yaml]\n');
    assert.deepEqual(await loadProblems(only), [`${cel}:4:24: rule "z": condition: Unexpected token: EOF at column 9`]);
  });

  it('parseConfigText alone does not read policy files (loadConfig does)', () => {
    const loaded = parseConfigText(`${HEAD}policy:\n  files: [policies/none.yaml]\n`, join(dir, 'x.yaml'), {});
    assert.deepEqual(loaded.policyFiles, []);
  });
});

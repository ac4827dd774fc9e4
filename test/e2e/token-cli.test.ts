// `gatehouse token …` run as a real process against a config and a SQLite file, checked with a
// TokenService over the same database (as the gateway would verify).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { tokensSchema } from '../../src/config/schema/auth.ts';
import { TokenService } from '../../src/identity/tokens/token-service.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';

const PUBLIC_URL = 'https://mcp.example.com/mcp';
const ISSUER = 'https://mcp.example.com';

let dir: string;
let script: string;
let config: string;
let portZeroConfig: string;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, 'token', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function verify(token: string): Promise<{ kind: string; claims?: Readonly<Record<string, unknown>> }> {
  const store = openSqliteStore(join(dir, 'state.db'));
  try {
    const s = new TokenService(store, tokensSchema.parse({ maxTtlSeconds: 3600 }), () => ISSUER, () => PUBLIC_URL);
    return await s.verify(token, Date.now());
  } finally {
    await store.close();
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-token-cli-'));
  const commander = import.meta.resolve('commander');
  const token = new URL('../../src/cli/token.ts', import.meta.url).href;
  script = join(dir, 'cli.mjs');
  await writeFile(
    script,
    `import { Command } from ${JSON.stringify(commander)};\nimport { registerTokenCommand } from ${JSON.stringify(token)};\nconst program = new Command('gatehouse');\nregisterTokenCommand(program);\nawait program.parseAsync(process.argv);\n`,
  );
  const yaml = (gateway: string) => `version: 1
gateway:
${gateway}
  listen:
    port: 0
    auth: [minted]
auth:
  methods:
    - name: minted
      type: gateway_token
  tokens:
    defaultTtlSeconds: 300
    maxTtlSeconds: 3600
store:
  kind: sqlite
  path: ./state.db
`;
  config = join(dir, 'gatehouse.yaml');
  await writeFile(config, yaml(`  publicUrl: ${PUBLIC_URL}`));
  portZeroConfig = join(dir, 'port-zero.yaml');
  await writeFile(portZeroConfig, yaml('  name: gatehouse'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('gatehouse token', () => {
  let first: string;
  let firstKid: string;

  it('mint prints a token the gateway verifies', async () => {
    const r = await cli('mint', '--config', config, '--agent', 'ci-bot', '--user', 'alice', '--tenant', 'acme', '--role', 'dev', '--role', 'ops', '--scope', 'tools:call', '--ttl', '15m');
    assert.equal(r.code, 0, r.stderr);
    first = r.stdout.trim();
    assert.match(first, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.match(r.stderr, /Minted a token for agent "ci-bot" \(jti [\w-]+\), valid until .*, audience https:\/\/mcp\.example\.com\/mcp\./);
    assert.ok(!r.stderr.includes(first), 'the token is printed on stdout only');
    firstKid = decodeProtectedHeader(first).kid!;
    const v = await verify(first);
    assert.equal(v.kind, 'ok', JSON.stringify(v));
    const c = v.claims!;
    assert.deepEqual([c.iss, c.aud, c.sub, c.gh_user, c.gh_tenant, c.roles, c.scope], [ISSUER, PUBLIC_URL, 'ci-bot', 'alice', 'acme', ['dev', 'ops'], 'tools:call']);
    assert.equal((c.exp as number) - (c.iat as number), 900);
  });

  it('mint --json prints the token, its id and expiry', async () => {
    const r = await cli('mint', '--config', config, '--agent', 'ci-bot', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { token: string; jti: string; expiresAt: string };
    assert.deepEqual(Object.keys(out), ['token', 'jti', 'expiresAt']);
    assert.match(out.expiresAt, /^\d{4}-\d{2}-\d{2}T/);
    assert.equal((await verify(out.token)).kind, 'ok');
  });

  it('rotate-key makes a new key; tokens of the old one still verify', async () => {
    const r = await cli('rotate-key', '--config', config);
    assert.equal(r.code, 0, r.stderr);
    const kid = r.stdout.trim();
    assert.notEqual(kid, firstKid);
    assert.match(r.stderr, new RegExp(`Retired ${firstKid}: still verifies until `));
    assert.equal((await verify(first)).kind, 'ok');
    const next = await cli('mint', '--config', config, '--agent', 'ci-bot');
    assert.equal(decodeProtectedHeader(next.stdout.trim()).kid, kid);

    const jwks = await cli('jwks', '--config', config);
    assert.equal(jwks.code, 0, jwks.stderr);
    const { keys } = JSON.parse(jwks.stdout) as { keys: Record<string, unknown>[] };
    assert.deepEqual(keys.map((k) => k.kid).sort(), [firstKid, kid].sort());
    for (const k of keys) assert.equal('d' in k, false);
  });

  it('refuses a ttl over the maximum, a malformed ttl and a bad agent name (exit 2)', async () => {
    const over = await cli('mint', '--config', config, '--agent', 'a', '--ttl', '2h');
    assert.equal(over.code, 2);
    assert.equal(over.stderr, 'gatehouse: ttl 7200 s is longer than the 3600 s allowed (auth.tokens.maxTtlSeconds)\n');
    assert.equal(over.stdout, '');
    const bad = await cli('mint', '--config', config, '--agent', 'a', '--ttl', 'soon');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--ttl: "soon" is not a positive duration/);
    const name = await cli('mint', '--config', config, '--agent', 'a b');
    assert.equal(name.code, 2);
    assert.match(name.stderr, /agent "a b" contains whitespace/);
  });

  it('refuses to mint when the audience depends on a port picked at start', async () => {
    const r = await cli('mint', '--config', portZeroConfig, '--agent', 'a');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /gateway\.listen\.port is 0 .* set gateway\.publicUrl/);
  });
});

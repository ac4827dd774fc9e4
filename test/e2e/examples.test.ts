// `gatehouse validate`, run as a user runs it: every example folder's config passes the full compile
// (new folders are picked up on their own), and a broken file is reported as file:line:column.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO } from '../harness/gateway.ts';

const EXAMPLES = join(REPO, 'examples');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function validate(file: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/gatehouse.js', 'validate', file], { cwd: REPO }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const folders = readdirSync(EXAMPLES).filter((d) => statSync(join(EXAMPLES, d)).isDirectory()).sort();

describe('gatehouse validate', () => {
  it('there are examples to validate', () => {
    assert.ok(folders.length > 0, 'examples/ has at least one folder');
  });

  for (const folder of folders) {
    it(`examples/${folder}/gatehouse.yaml compiles`, async () => {
      const file = join(EXAMPLES, folder, 'gatehouse.yaml');
      assert.ok(existsSync(file), `every example folder has a gatehouse.yaml (examples/${folder} has none)`);
      const r = await validate(file);
      assert.equal(r.code, 0, `exit code 0 expected:\n${r.stderr}`);
      assert.match(r.stdout, /: ok \(\d+ upstreams?\)/);
      assert.equal(r.stderr, '');
    });
  }

  describe('a broken file', () => {
    let tmp: string;
    before(() => {
      tmp = mkdtempSync(join(tmpdir(), 'gatehouse-validate-'));
    });
    after(() => rmSync(tmp, { recursive: true, force: true }));

    it('an unknown key: file:line:column: message, exit 1', async () => {
      const file = join(tmp, 'unknown-key.yaml');
      writeFileSync(file, ['version: 1', 'upstreams:', '  - name: files', '    transport: stdio', '    command: node', '    colour: blue', ''].join('\n'));
      const r = await validate(file);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trim().split('\n');
      assert.ok(lines.length >= 1);
      for (const l of lines) assert.match(l, new RegExp(`^${escape(file)}:\\d+:\\d+: \\S`), 'every line is file:line:column: message');
      assert.ok(lines.some((l) => l.startsWith(`${file}:6:5: `) && /colour/.test(l)), r.stderr);
    });

    it('several problems are all reported, in file order', async () => {
      const file = join(tmp, 'several.yaml');
      writeFileSync(
        file,
        ['version: 1', 'gateway:', '  listen: { port: "eighty" }', 'upstreams:', '  - name: a', '    transport: carrier-pigeon', '  - name: b', '    transport: stdio', '    command: node', '    timeoutMs: -5', ''].join('\n'),
      );
      const r = await validate(file);
      assert.equal(r.code, 1);
      const lines = r.stderr.trim().split('\n');
      assert.ok(lines.length >= 3, `three problems expected:\n${r.stderr}`);
      const positions = lines.map((l) => {
        const m = new RegExp(`^${escape(file)}:(\\d+):(\\d+): \\S`).exec(l);
        assert.ok(m, `file:line:column: message, got ${l}`);
        return [Number(m[1]), Number(m[2])] as const;
      });
      const sorted = [...positions].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      assert.deepEqual(positions, sorted, 'in file order');
      const rows = positions.map((p) => p[0]);
      for (const row of [3, 6, 10]) assert.ok(rows.includes(row), `a problem on line ${row}:\n${r.stderr}`);
    });

    it('YAML that does not parse: file:line:column, exit 1', async () => {
      const file = join(tmp, 'syntax.yaml');
      writeFileSync(file, 'version: 1\nupstreams: [\n  { name: a,\n');
      const r = await validate(file);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^${escape(file)}:\\d+:\\d+: \\S`, 'm'));
    });

    it('a missing file is reported and exits non-zero', async () => {
      const r = await validate(join(tmp, 'nope.yaml'));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /nope\.yaml/);
    });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchConfigFile } from '../../src/config/watch.ts';

// Tests write with the sync calls: truncate and write then happen in one tick, so the watcher never reads a
// half-written file (which would be a real, if brief, change).

/**
 * Follows a watcher through its `onCheck` hook, so tests wait for the watcher to have looked at the file rather
 * than for a length of time.
 */
async function setup(t: { after(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-watch-'));
  const file = join(dir, 'gatehouse.yaml');
  await writeFile(file, 'version: 1\n');
  let changes = 0;
  let waiting: ((changed: boolean) => void)[] = [];
  const checks: boolean[] = [];
  const w = watchConfigFile(file, () => changes++, {
    debounceMs: 25,
    onCheck: (changed) => {
      checks.push(changed);
      const ws = waiting;
      waiting = [];
      for (const fn of ws) fn(changed);
    },
  });
  t.after(async () => {
    w.close();
    await rm(dir, { recursive: true, force: true });
  });
  /** Resolves at the first check that saw a change (or, with `false`, at the next check of any kind). */
  const nextCheck = (wantChange: boolean) =>
    new Promise<boolean>((resolve) => {
      const wait = () =>
        waiting.push((changed) => {
          if (changed || !wantChange) resolve(changed);
          else wait();
        });
      wait();
    });
  return { dir, file, changes: () => changes, checks, nextCheck };
}

// The timeout only turns a missed event into a failure instead of a hang; nothing asserts on durations.
describe('watchConfigFile', { timeout: 20_000 }, () => {
  it('fires once for a change written in place', async (t) => {
    const w = await setup(t);
    const seen = w.nextCheck(true);
    writeFileSync(w.file, 'version: 1\nlog: { level: debug }\n');
    await seen;
    assert.equal(w.changes(), 1);
    // Touching the file afterwards is looked at but is not a change.
    const touched = w.nextCheck(false);
    const now = new Date();
    utimesSync(w.file, now, now);
    assert.equal(await touched, false);
    assert.equal(w.changes(), 1);
  });

  it('fires once for an editor-style save (write a temp file, rename it over)', async (t) => {
    const w = await setup(t);
    const seen = w.nextCheck(true);
    const tmp = join(w.dir, '.gatehouse.yaml.swp');
    writeFileSync(tmp, 'version: 1\ngateway: { name: renamed }\n');
    renameSync(tmp, w.file);
    await seen;
    assert.equal(w.changes(), 1);
    // A second save of the same content the same way is not a change.
    const again = w.nextCheck(false);
    writeFileSync(tmp, 'version: 1\ngateway: { name: renamed }\n');
    renameSync(tmp, w.file);
    assert.equal(await again, false);
    assert.equal(w.changes(), 1);
  });

  it('ignores rewrites with the same content, then sees the next real change', async (t) => {
    const w = await setup(t);
    const same = w.nextCheck(false);
    writeFileSync(w.file, 'version: 1\n');
    assert.equal(await same, false);
    assert.equal(w.changes(), 0);
    const seen = w.nextCheck(true);
    writeFileSync(w.file, 'version: 1\n# edited\n');
    await seen;
    assert.equal(w.changes(), 1);
    assert.ok(w.checks.filter(Boolean).length === 1);
  });

  it('ignores other files in the folder', async (t) => {
    const w = await setup(t);
    writeFileSync(join(w.dir, 'other.yaml'), 'x: 1\n');
    // The config change below is the first thing the watcher looks at: other.yaml caused no check at all.
    const seen = w.nextCheck(false);
    writeFileSync(w.file, 'version: 1\n# changed\n');
    assert.equal(await seen, true);
    assert.equal(w.changes(), 1);
  });

  it('sees in-place edits of a symlinked file, in the folder of its target', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-watch-link-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'real'));
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'real', 'gatehouse.yaml'), 'version: 1\n');
    symlinkSync(join(dir, 'real', 'gatehouse.yaml'), join(dir, 'etc', 'gatehouse.yaml'));
    let changes = 0;
    let seen!: () => void;
    const changed = new Promise<void>((r) => (seen = r));
    const w = watchConfigFile(join(dir, 'etc', 'gatehouse.yaml'), () => changes++, { debounceMs: 25, onCheck: (c) => c && seen() });
    t.after(() => w.close());
    writeFileSync(join(dir, 'real', 'gatehouse.yaml'), 'version: 1\n# edited\n');
    await changed;
    assert.equal(changes, 1);
  });

  it('fires once for a Kubernetes ConfigMap update (..data symlink swapped by rename)', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-watch-k8s-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'gatehouse.yaml'), 'version: 1\n');
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'gatehouse.yaml'), join(dir, 'gatehouse.yaml'));
    let changes = 0;
    const checks: boolean[] = [];
    let seen!: () => void;
    const changed = new Promise<void>((r) => (seen = r));
    const w = watchConfigFile(join(dir, 'gatehouse.yaml'), () => changes++, {
      debounceMs: 25,
      onCheck: (c) => {
        checks.push(c);
        if (c) seen();
      },
    });
    t.after(() => w.close());
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'gatehouse.yaml'), 'version: 1\n# v2\n');
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await changed;
    assert.equal(changes, 1);
  });

  it('closes cleanly: no callback after close()', async (t) => {
    const w = await setup(t);
    let after = 0;
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-watch-close-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'g.yaml');
    writeFileSync(file, 'a\n');
    const closed = watchConfigFile(file, () => after++, { debounceMs: 5 });
    closed.close();
    writeFileSync(file, 'b\n');
    // Let the original watcher observe a change of its own: by then any event for the closed one has been delivered.
    const seen = w.nextCheck(true);
    writeFileSync(w.file, 'version: 1\n# later\n');
    await seen;
    assert.equal(after, 0);
  });
});

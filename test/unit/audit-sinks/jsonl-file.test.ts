import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sealEntry } from '../../../src/audit/chain.ts';
import { GENESIS } from '../../../src/audit/entry.ts';
import { JsonlFileSink } from '../../../src/audit/sinks/jsonl-file.ts';
import { formatRecord, type SinkRecord } from '../../../src/audit/sinks/sink.ts';
import { captureLogger, exchangeBody } from './support.ts';

/** Records whose native lines all have the same length (seq 1..9, same-length fields). */
function records(from: number, to: number): SinkRecord[] {
  const out: SinkRecord[] = [];
  for (let seq = from; seq <= to; seq++) {
    const { entry, row } = sealEntry(exchangeBody(`2026-03-01T10:00:0${seq}.000Z`, { id: `0199a000-0000-7000-8000-00000000000${seq}` }), 'gw1', seq, GENESIS);
    out.push({ entry, hash: row.hash, text: row.text });
  }
  return out;
}

const line = (r: SinkRecord): string => `${formatRecord(r, 'native', '1')}\n`;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-jsonl-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('appends one line per record, creating the folder', () =>
  withDir(async (dir) => {
    const path = join(dir, 'nested', 'deeper', 'audit.jsonl');
    const sink = new JsonlFileSink({ name: 'file', path, maxBytes: 1024 * 1024, keep: 3, format: 'native', version: '1', logger: captureLogger().logger });
    const rs = records(1, 3);
    await sink.write(rs.slice(0, 2));
    await sink.write(rs.slice(2));
    await sink.close();
    assert.equal(await readFile(path, 'utf8'), rs.map(line).join(''));
    for (const [i, l] of (await readFile(path, 'utf8')).trimEnd().split('\n').entries()) {
      assert.deepEqual(JSON.parse(l), { ...rs[i]!.entry, hash: rs[i]!.hash });
    }
  }));

test('rotates by size before a write would pass maxBytes, keeping `keep` files', () =>
  withDir(async (dir) => {
    const path = join(dir, 'audit.jsonl');
    const rs = records(1, 9);
    const L = Buffer.byteLength(line(rs[0]!));
    for (const r of rs) assert.equal(Buffer.byteLength(line(r)), L, 'lines of equal length');
    // Three lines fit exactly; the fourth would pass the limit.
    const sink = new JsonlFileSink({ name: 'file', path, maxBytes: 3 * L, keep: 2, format: 'native', version: '1', logger: captureLogger().logger });
    await sink.write(rs.slice(0, 2)); // live: 1 2
    await sink.write(rs.slice(2, 7)); // 1 2 3 | 4 5 6 | 7
    await sink.write(rs.slice(7, 9)); // 7 8 9
    await sink.write(records(1, 1)); // rotate: live 1
    await sink.close();
    assert.deepEqual((await readdir(dir)).sort(), ['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2']);
    assert.equal(await readFile(path, 'utf8'), line(rs[0]!));
    assert.equal(await readFile(`${path}.1`, 'utf8'), rs.slice(6, 9).map(line).join(''));
    assert.equal(await readFile(`${path}.2`, 'utf8'), rs.slice(3, 6).map(line).join(''));
  }));

test('a line larger than maxBytes gets a file of its own', () =>
  withDir(async (dir) => {
    const path = join(dir, 'audit.jsonl');
    const rs = records(1, 3);
    const sink = new JsonlFileSink({ name: 'file', path, maxBytes: 10, keep: 5, format: 'native', version: '1', logger: captureLogger().logger });
    await sink.write(rs);
    await sink.close();
    assert.equal(await readFile(path, 'utf8'), line(rs[2]!));
    assert.equal(await readFile(`${path}.1`, 'utf8'), line(rs[1]!));
    assert.equal(await readFile(`${path}.2`, 'utf8'), line(rs[0]!));
  }));

test('a partial last line from an interrupted write is cut before writing again', () =>
  withDir(async (dir) => {
    const path = join(dir, 'audit.jsonl');
    const rs = records(1, 3);
    const torn = '{"v":1,"type":"exch';
    await writeFile(path, `${line(rs[0]!)}${torn}`);
    const log = captureLogger();
    const sink = new JsonlFileSink({ name: 'file', path, maxBytes: 1024 * 1024, keep: 1, format: 'native', version: '1', logger: log.logger });
    await sink.write(rs.slice(1));
    await sink.close();
    assert.equal(await readFile(path, 'utf8'), rs.map(line).join(''));
    assert.ok(log.lines.some((l) => l.msg === 'removed a partial last line left by an interrupted write; its records are written again' && l.bytes === torn.length));
  }));

test('a file with no newline at all is a torn write too', () =>
  withDir(async (dir) => {
    const path = join(dir, 'audit.jsonl');
    await writeFile(path, '{"v":1');
    const rs = records(1, 1);
    const sink = new JsonlFileSink({ name: 'file', path, maxBytes: 1024 * 1024, keep: 1, format: 'native', version: '1', logger: captureLogger().logger });
    await sink.write(rs);
    await sink.close();
    assert.equal(await readFile(path, 'utf8'), line(rs[0]!));
  }));

test('survives the file being deleted or moved away behind its back', () =>
  withDir(async (dir) => {
    const path = join(dir, 'audit.jsonl');
    const rs = records(1, 3);
    const sink = new JsonlFileSink({ name: 'file', path, maxBytes: 1024 * 1024, keep: 1, format: 'native', version: '1', logger: captureLogger().logger });
    await sink.write([rs[0]!]);
    await rename(path, join(dir, 'moved.jsonl')); // logrotate's move-and-create, minus the create
    await sink.write([rs[1]!]);
    await rm(path);
    await sink.write([rs[2]!]);
    await sink.close();
    assert.equal(await readFile(join(dir, 'moved.jsonl'), 'utf8'), line(rs[0]!));
    assert.equal(await readFile(path, 'utf8'), line(rs[2]!));
  }));

test('concurrent writers (several chains) are serialised, and a closed sink refuses writes', () =>
  withDir(async (dir) => {
    const path = join(dir, 'audit.jsonl');
    const rs = records(1, 6);
    const sink = new JsonlFileSink({ name: 'file', path, maxBytes: 1024 * 1024, keep: 1, format: 'native', version: '1', logger: captureLogger().logger });
    await Promise.all([sink.write(rs.slice(0, 2)), sink.write(rs.slice(2, 4)), sink.write(rs.slice(4))]);
    await sink.close();
    assert.equal(await readFile(path, 'utf8'), rs.map(line).join(''));
    await assert.rejects(sink.write(rs.slice(0, 1)), /is closed/);
  }));

test('a write that cannot reach the disk rejects (so the cursor does not move)', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'file'), 'x');
    const sink = new JsonlFileSink({ name: 'file', path: join(dir, 'file', 'audit.jsonl'), maxBytes: 1024 * 1024, keep: 1, format: 'native', version: '1', logger: captureLogger().logger });
    await assert.rejects(sink.write(records(1, 1)), /sink "file": cannot write .*audit\.jsonl/);
    await sink.close();
  }));

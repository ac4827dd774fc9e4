import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, sha256Hex } from '../../../src/audit/canonical.ts';
import { sealEntry, type AuditEntryBody } from '../../../src/audit/chain.ts';
import { GENESIS, columnsOf } from '../../../src/audit/entry.ts';

const body: AuditEntryBody = {
  type: 'exchange',
  id: '01890a5d-ac96-774b-bcce-b302099a8057',
  time: '2026-01-02T03:04:05.678Z',
  method: 'tools/call',
  principal: { id: 'keys::bot:', agent: 'bot', authMethod: 'api_key', authSource: 'keys' },
  target: { kind: 'tool', upstream: 'fs', name: 'fs_read' },
  outcome: 'ok',
};

describe('sealEntry', () => {
  it('places the body in the chain and hashes its canonical text', () => {
    const { entry, row } = sealEntry(body, 'gw-1', 1, GENESIS);
    assert.deepEqual(entry, { ...body, v: 1, chain: 'gw-1', seq: 1, prev: GENESIS });
    assert.equal(row.text, canonicalJson(entry));
    assert.equal(row.hash, sha256Hex(row.text));
    assert.deepEqual(row.columns, columnsOf(entry));
    assert.deepEqual({ chain: row.chain, seq: row.seq, id: row.id }, { chain: 'gw-1', seq: 1, id: body.id });
    assert.equal(row.columns.agent, 'bot');
    assert.equal(row.columns.target, 'fs_read');
  });

  it('links entries: the next entry names the previous hash, and any change changes the hash', () => {
    const a = sealEntry(body, 'gw-1', 1, GENESIS);
    const b = sealEntry({ ...body, id: '01890a5d-ac96-774b-bcce-b302099a8058' }, 'gw-1', 2, a.row.hash);
    assert.equal(b.entry.prev, a.row.hash);
    assert.notEqual(sealEntry({ ...body, outcome: 'error' }, 'gw-1', 1, GENESIS).row.hash, a.row.hash);
  });

  it('cannot be overridden by placing fields smuggled into a body', () => {
    const sneaky = { ...body, chain: 'other', seq: 99, prev: 'f'.repeat(64), v: 2 } as unknown as AuditEntryBody;
    const { entry } = sealEntry(sneaky, 'gw-1', 3, GENESIS);
    assert.deepEqual([entry.chain, entry.seq, entry.prev, entry.v], ['gw-1', 3, GENESIS, 1]);
  });

  it('replaces lone surrogates an agent sent, and returns the entry the text was made from', () => {
    const withLone = { ...body, args: JSON.parse('{"q":"\\ud800"}') as unknown };
    const { entry, row } = sealEntry(withLone, 'gw-1', 1, GENESIS);
    assert.deepEqual(entry.args, { q: '\ufffd' });
    assert.equal(row.text, canonicalJson(entry));
    assert.equal(canonicalJson(JSON.parse(row.text)), row.text);
  });

  it('does not modify the body', () => {
    const b = structuredClone(body);
    sealEntry(b, 'gw-1', 1, GENESIS);
    assert.deepEqual(b, body);
  });
});

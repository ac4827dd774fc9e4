import assert from 'node:assert/strict';
import { it } from 'node:test';
import { uuidv7 } from '../../src/pipeline/ids.ts';

it('uuidv7 ids are RFC 9562 v7, unique, and sort in creation order', () => {
  const ids = Array.from({ length: 5000 }, () => uuidv7());
  for (const id of ids.slice(0, 50)) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
  const t = Date.UTC(2026, 10, 21);
  assert.equal(parseInt(uuidv7(t).replace(/-/g, '').slice(0, 12), 16), t);
});

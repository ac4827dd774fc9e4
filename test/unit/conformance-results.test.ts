import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { judge, parseBaseline, readResults, type ScenarioResult } from '../../scripts/conformance-results.ts';

const ok = (id: string) => ({ id, status: 'SUCCESS' });
const bad = (id: string) => ({ id, status: 'FAILURE', errorMessage: `${id} failed` });
const warn = (id: string) => ({ id, status: 'WARNING' });

test('parseBaseline reads the per-set conformance format', () => {
  const b = parseBaseline("'2025-11-25':\n  server:\n    - a\n    - b:check-1\n'2026-07-28':\n", 'f.yaml');
  assert.deepEqual(b['2025-11-25'], [{ scenario: 'a' }, { scenario: 'b', checkId: 'check-1' }]);
  assert.deepEqual(b['2026-07-28'], []);
  assert.deepEqual(parseBaseline('# nothing yet\n', 'f.yaml'), { '2025-11-25': [], '2026-07-28': [] });
});

test('parseBaseline refuses what it cannot mean', () => {
  assert.throws(() => parseBaseline("'2024-01-01':\n  server: [a]\n", 'f.yaml'), /unknown requirement set "2024-01-01"/);
  assert.throws(() => parseBaseline("'2025-11-25':\n  client: [a]\n", 'f.yaml'), /only server: is used/);
  assert.throws(() => parseBaseline("'2025-11-25':\n  server: a\n", 'f.yaml'), /must be a list/);
  assert.throws(() => parseBaseline("'2025-11-25':\n  server: [':x']\n", 'f.yaml'), /both sides of the colon/);
  assert.throws(() => parseBaseline("'2025-11-25':\n  server: [a, 'a:x']\n", 'f.yaml'), /lists a whole and its check x/);
  assert.throws(() => parseBaseline("'2025-11-25':\n  server: [{a: x}]\n", 'f.yaml'), /is not 'scenario' or 'scenario:check-id'/);
});

test('judge: a failure the baseline does not list is a regression; warnings are not failures', () => {
  const results: ScenarioResult[] = [
    { scenario: 'a', checks: [ok('a'), warn('w')] },
    { scenario: 'b', checks: [bad('b1')] },
  ];
  const v = judge(results, new Set(['a', 'b']), new Set(['a', 'b']), []);
  assert.deepEqual(v, { expected: [], unexpected: ['b'], stale: [] });
});

test('judge: whole-scenario and per-check entries, and stale ones', () => {
  const results: ScenarioResult[] = [
    { scenario: 'a', checks: [bad('a1')] },
    { scenario: 'b', checks: [bad('b1'), bad('b1'), bad('b2'), ok('b3')] },
    { scenario: 'c', checks: [ok('c1')] },
  ];
  const baseline = [{ scenario: 'a' }, { scenario: 'b', checkId: 'b1' }, { scenario: 'b', checkId: 'b3' }, { scenario: 'c' }];
  const v = judge(results, new Set(['a', 'b', 'c']), new Set(['a', 'b', 'c']), baseline);
  assert.deepEqual(v.expected, ['a', 'b:b1']);
  assert.deepEqual(v.unexpected, ['b:b2']);
  assert.deepEqual(v.stale, ['b:b3', 'c']);
});

test('judge: a scored scenario without results fails; unscored ones never count', () => {
  const results: ScenarioResult[] = [{ scenario: 'extra', checks: [bad('x')] }];
  const v = judge(results, new Set(['a']), new Set(['a', 'extra']), [{ scenario: 'gone' }]);
  assert.deepEqual(v.unexpected, ['a']);
  assert.deepEqual(v.stale, ['gone (not a scored scenario of this set)']);
});

test('judge: entries about scenarios that were not asked for are left alone', () => {
  const v = judge([{ scenario: 'a', checks: [ok('a')] }], new Set(['a', 'b']), new Set(['a']), [{ scenario: 'b' }]);
  assert.deepEqual(v, { expected: [], unexpected: [], stale: [] });
});

test('readResults picks up the per-scenario folders the suite writes', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'conformance-results-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const scenarioDir = join(dir, 'server-tools-call-simple-text-2026-11-21T09-24-23-895Z');
  mkdirSync(scenarioDir);
  writeFileSync(join(scenarioDir, 'checks.json'), JSON.stringify([ok('tools-call-simple-text')]));
  mkdirSync(join(dir, 'not-a-result'));
  assert.deepEqual(readResults(dir), [{ scenario: 'tools-call-simple-text', checks: [ok('tools-call-simple-text')] }]);
  assert.deepEqual(readResults(join(dir, 'missing')), []);
});

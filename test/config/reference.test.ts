import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configJsonSchema, configJsonSchemaText, configReferenceMarkdown } from '../../src/config/reference.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function committed(rel: string): Promise<string> {
  try {
    return await readFile(join(root, rel), 'utf8');
  } catch {
    assert.fail(`${rel} is missing: run npm run docs:config`);
  }
}

describe('generated configuration reference', () => {
  it('docs/reference/configuration.md is up to date', async () => {
    const want = configReferenceMarkdown();
    assert.ok(want === (await committed('docs/reference/configuration.md')), 'docs/reference/configuration.md is stale: run npm run docs:config');
  });

  it('docs/reference/config.schema.json is up to date', async () => {
    const want = configJsonSchemaText();
    assert.ok(want === (await committed('docs/reference/config.schema.json')), 'docs/reference/config.schema.json is stale: run npm run docs:config');
  });

  it('the JSON Schema is draft 2020-12, strict, and only requires what has no default', () => {
    const s = configJsonSchema() as { $schema: string; required: string[]; additionalProperties: boolean };
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.deepEqual(s.required, ['version']);
    assert.equal(s.additionalProperties, false);
  });

  it('documents every section, and each upstream transport in its own table', () => {
    const md = configReferenceMarkdown();
    for (const heading of ['## `gateway`', '## `gateway.listen`', '## `log`', '## `store`', '## `upstreams[]`', '## `upstreams[].restart`']) {
      assert.ok(md.includes(`\n${heading}\n`), `missing ${heading}`);
    }
    for (const t of ['stdio', 'streamable-http', 'sse']) {
      assert.ok(md.includes(`\n### \`upstreams[]\` with \`transport: ${t}\`\n`), `missing the ${t} table`);
    }
    assert.match(md, /\| `port` \| integer 0–65535 \| no \| `8080` \| TCP port/);
    assert.match(md, /\| `level` \| one of `fatal`, `error`, .* \| no \| `info` \|/);
    assert.match(md, /\| `version` \| `1` \| yes \| — \|/);
    // Every link points at a heading that exists.
    const anchors = new Set(
      [...md.matchAll(/^#+ (.*)$/gm)].map((m) => m[1]!.replace(/`/g, '').toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')),
    );
    for (const [, target] of md.matchAll(/\]\(#([^)]+)\)/g)) assert.ok(anchors.has(target!), `dangling link #${target}`);
  });
});

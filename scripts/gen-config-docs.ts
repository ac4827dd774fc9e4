// Writes the configuration reference and JSON Schema generated from src/config/schema/ (npm run docs:config).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText, configReferenceMarkdown } from '../src/config/reference.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outputs: [string, string][] = [
  ['docs/reference/configuration.md', configReferenceMarkdown()],
  ['docs/reference/config.schema.json', configJsonSchemaText()],
];
for (const [rel, text] of outputs) {
  const file = join(root, rel);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  console.log(`wrote ${rel}`);
}

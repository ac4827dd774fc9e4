import { z } from 'zod';
import { configSchema } from './schema/root.ts';

/** The slice of JSON Schema that zod emits for the config. */
interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
}

/** JSON Schema (draft 2020-12) of the file as written: fields with defaults are optional. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-2020-12',
    override: ({ zodSchema, jsonSchema }) => {
      // zod leaves out a default whose field has a transform (the default is an output value); when the default
      // is also valid input, as `env: {}` is, it is still the truth for whoever writes the file.
      const def = zodSchema._zod.def as { type: string; defaultValue?: unknown; innerType?: z.core.$ZodType };
      if (def.type !== 'default' || jsonSchema.default !== undefined || !def.innerType) return;
      if (z.safeParse(def.innerType, def.defaultValue).success) jsonSchema.default = JSON.parse(JSON.stringify(def.defaultValue));
    },
  }) as Record<string, unknown>;
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

const INTRO = `# Configuration reference

<!-- Generated from src/config/schema/ by scripts/gen-config-docs.ts. Do not edit: run \`npm run docs:config\`. -->

Gatehouse reads one YAML file. The schema is strict: an unknown key is an error, and every problem is reported
as \`file:line:column: message\`, all of them at once. A JSON Schema of the same format, for editors, is in
[config.schema.json](config.schema.json).

**Environment variables.** In any value (not in keys), \`\${NAME}\` is replaced by the variable \`NAME\` and
\`\${NAME:-fallback}\` by \`fallback\` when \`NAME\` is unset or empty. An unset variable without a fallback is an
error. Write \`$\${\` for a literal \`\${\`. When an unquoted value is exactly one \`\${...}\`, the result is read
as YAML again, so \`port: \${PORT}\` gives a number; in a quoted value the result stays a string. Error messages
name the variable, never its value.

**YAML.** Duplicate keys are errors. Anchors, aliases and merge keys (\`<<: *base\`) work.

**Reload.** On reload the whole file is loaded and compiled again; if anything fails, the config in force keeps
serving and the failure is reported.
`;

function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

function code(v: unknown): string {
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function discriminatorOf(members: JsonSchema[]): string | undefined {
  const first = members[0]?.properties ?? {};
  return Object.keys(first).find((k) =>
    members.every((m) => m.properties?.[k]?.const !== undefined && (m.required ?? []).includes(k)),
  );
}

function numberRange(s: JsonSchema): string {
  const huge = (n: number | undefined) => n === undefined || Math.abs(n) >= Number.MAX_SAFE_INTEGER;
  const lo = s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : !huge(s.minimum) ? `≥ ${s.minimum}` : '';
  const hi = s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : !huge(s.maximum) ? `≤ ${s.maximum}` : '';
  if (s.minimum !== undefined && !huge(s.minimum) && !huge(s.maximum) && s.exclusiveMinimum === undefined) {
    return ` ${s.minimum}–${s.maximum}`;
  }
  return [lo, hi].filter(Boolean).map((b) => ` ${b}`).join(',');
}

function orList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? 'any value') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

interface Section {
  heading: string;
  schema: JsonSchema;
  /** Set for one member of a discriminated union: `transport: stdio`. */
  member?: string;
}

/** `X | X[]` of one mapping schema (a value written once or as a list): the mapping, else undefined. */
function oneOrList(s: JsonSchema): JsonSchema | undefined {
  const alts = s.oneOf ?? s.anyOf;
  if (alts?.length !== 2) return undefined;
  const obj = alts.find((a) => a.properties);
  const list = alts.find((a) => a.type === 'array' && a.items !== undefined);
  return obj !== undefined && list !== undefined && JSON.stringify(list.items) === JSON.stringify(obj) ? obj : undefined;
}

/** Renders the reference: one table per mapping, one per member of a discriminated union. */
class Renderer {
  readonly #out: string[] = [];
  readonly #seen = new Map<string, string>();

  render(root: JsonSchema): string {
    this.#out.push(INTRO);
    this.#object({ heading: 'Top level', schema: root }, '');
    return `${this.#out.join('\n').trimEnd()}\n`;
  }

  /** Registers the section for `path` and returns its link, or undefined when `s` gets no section of its own. */
  #sectionFor(path: string, s: JsonSchema): { link: string; emit: () => void } | undefined {
    const members = s.oneOf ?? s.anyOf;
    if (!s.properties && !members?.some((m) => m.properties)) return undefined;
    const heading = `\`${path}\``;
    const body = JSON.stringify(s);
    const link = `[${path}](#${slug(heading)})`;
    const known = this.#seen.get(heading);
    if (known === body) return { link, emit: () => {} };
    if (known !== undefined) throw new Error(`two different schemas at ${path}: give one of them its own name`);
    this.#seen.set(heading, body);
    return { link, emit: () => (members ? this.#union(heading, s, members, path) : this.#object({ heading, schema: s }, path)) };
  }

  #type(s: JsonSchema, path: string, later: (() => void)[]): string {
    const one = oneOrList(s);
    if (one !== undefined) {
      const section = this.#sectionFor(path, one)!;
      later.push(section.emit);
      return `mapping or list of mappings, see ${section.link}`;
    }
    const section = this.#sectionFor(path, s);
    if (section) {
      later.push(section.emit);
      return `${s.oneOf ?? s.anyOf ? 'mapping (several kinds)' : 'mapping'}, see ${section.link}`;
    }
    if (s.const !== undefined) return code(s.const);
    const alternatives = s.oneOf ?? s.anyOf ?? (Array.isArray(s.type) ? s.type.map((type) => ({ ...s, type })) : undefined);
    if (alternatives) return orList(alternatives.map((a) => this.#type(a, path, later)));
    if (s.enum) return `one of ${s.enum.map(code).join(', ')}`;
    switch (s.type) {
      case 'array': {
        const items = s.items ? this.#type(s.items, `${path}[]`, later).replace(/^mapping/, 'mappings') : 'anything';
        return `list of ${items}${s.minItems ? ` (at least ${s.minItems})` : ''}`;
      }
      case 'object': {
        const values = typeof s.additionalProperties === 'object' ? this.#type(s.additionalProperties, `${path}.*`, later) : 'anything';
        return `map of string to ${values}`;
      }
      case 'string': {
        let t = s.format === 'uri' ? 'URL' : s.minLength === 1 ? 'non-empty string' : 'string';
        if (s.pattern) t += ` matching \`${s.pattern}\``;
        if (s.maxLength !== undefined) t += ` (at most ${s.maxLength} characters)`;
        return t;
      }
      case 'integer':
      case 'number':
        return `${s.type}${numberRange(s)}`;
      default:
        return typeof s.type === 'string' ? s.type : 'any value';
    }
  }

  /** Nested sections go to `later`, so that they follow the table (and all sibling union members) in order. */
  #object(section: Section, path: string, later: (() => void)[] = []): void {
    const { heading, schema } = section;
    const own = !section.member;
    this.#out.push(`${section.member ? '###' : '##'} ${heading}${section.member ? ` with \`${section.member}\`` : ''}\n`);
    if (schema.description && !section.member) this.#out.push(`${schema.description}\n`);
    const required = new Set(schema.required ?? []);
    const tag = section.member?.split(':')[0];
    // The key that selects a union member comes first: it is what a reader looks for.
    const entries = Object.entries(schema.properties ?? {}).sort(([a], [b]) => Number(b === tag) - Number(a === tag));
    const rows = entries.map(([key, field]) => {
      const type = this.#type(field, path ? `${path}.${key}` : key, later);
      const description = field.description ?? (key === tag ? 'Selects this kind.' : '');
      const dflt = field.default !== undefined ? code(field.default) : '—';
      return `| \`${key}\` | ${cell(type)} | ${required.has(key) ? 'yes' : 'no'} | ${cell(dflt)} | ${cell(description)} |`;
    });
    this.#out.push('| Key | Type | Required | Default | Description |', '|---|---|---|---|---|', ...rows, '');
    if (own) for (const emit of later.splice(0)) emit();
  }

  #union(heading: string, s: JsonSchema, members: JsonSchema[], path: string): void {
    const tag = discriminatorOf(members);
    this.#out.push(`## ${heading}\n`);
    if (s.description) this.#out.push(`${s.description}\n`);
    if (!tag) throw new Error(`${path}: unions without a discriminator are not documented yet`);
    const names = members.map((m) => `${tag}: ${String(m.properties![tag]!.const)}`);
    this.#out.push(`The key \`${tag}\` selects the kind: ${names.map((n) => `[\`${n}\`](#${slug(`${heading} with \`${n}\``)})`).join(', ')}.\n`);
    const later: (() => void)[] = [];
    members.forEach((m, i) => this.#object({ heading, schema: m, member: names[i]! }, path, later));
    for (const emit of later) emit();
  }
}

/** The Markdown configuration reference, generated from the schema. */
export function configReferenceMarkdown(): string {
  return new Renderer().render(configJsonSchema() as JsonSchema);
}

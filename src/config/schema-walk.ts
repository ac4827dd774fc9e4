import type { z } from 'zod';
import type { ConfigPath } from './locate.ts';

// zod 4 exposes every schema's definition on `_zod.def`, the documented surface for tools that walk schemas.
interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  getter?: () => Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
  items?: Schema[];
  options?: Schema[];
  discriminator?: string;
  values?: unknown[];
  entries?: Record<string, unknown>;
}
type Schema = z.core.$ZodType;

function def(s: Schema): Def {
  return s._zod.def as unknown as Def;
}

/** Strips wrappers that do not change the shape of the data (default, optional, pipe, ...). */
export function unwrap(s: Schema): Schema {
  for (let i = 0; i < 64; i++) {
    const d = def(s);
    const inner = d.innerType ?? d.in ?? (d.type === 'lazy' ? d.getter?.() : undefined);
    if (!inner) return s;
    s = inner;
  }
  return s;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The union member the data selects through its discriminator, if any. */
function pickMember(s: Schema, data: unknown): Schema | undefined {
  const d = def(s);
  if (d.type !== 'union' || !d.options) return s;
  if (!d.discriminator || !isRecord(data)) return undefined;
  const tag = data[d.discriminator];
  return d.options.find((o) => {
    const field = objectShape(o)?.[d.discriminator!];
    return field !== undefined && literalValues(field)?.includes(tag);
  });
}

export function objectShape(s: Schema): Record<string, Schema> | undefined {
  const d = def(unwrap(s));
  return d.type === 'object' ? d.shape : undefined;
}

/** The values a literal or enum schema accepts, or undefined for anything else. */
export function literalValues(s: Schema): unknown[] | undefined {
  const d = def(unwrap(s));
  if (d.type === 'literal') return d.values;
  if (d.type === 'enum' && d.entries) return Object.values(d.entries);
  return undefined;
}

/** The schema that validates the data found at `path`, following the data through discriminated unions. */
export function schemaAt(root: Schema, data: unknown, path: ConfigPath): Schema | undefined {
  let s: Schema | undefined = root;
  let value = data;
  for (const seg of path) {
    s = pickMember(unwrap(s), value);
    if (!s) return undefined;
    const d = def(s);
    if (d.type === 'object') s = d.shape?.[String(seg)];
    else if (d.type === 'array') s = d.element;
    else if (d.type === 'record') s = d.valueType;
    else if (d.type === 'tuple') s = typeof seg === 'number' ? d.items?.[seg] : undefined;
    else return undefined;
    if (!s) return undefined;
    value = isRecord(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[seg] : undefined;
  }
  return pickMember(unwrap(s), value);
}

/** The keys an object schema at `path` allows, in declaration order. */
export function allowedKeys(root: Schema, data: unknown, path: ConfigPath): string[] | undefined {
  const s = schemaAt(root, data, path);
  const shape = s ? objectShape(s) : undefined;
  return shape ? Object.keys(shape) : undefined;
}

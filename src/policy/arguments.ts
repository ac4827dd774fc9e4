import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';

export interface ArgumentSchema {
  /** A description of the first violation, or undefined when the arguments conform. */
  check(args: Readonly<Record<string, unknown>>): string | undefined;
}

export type ArgumentSchemaCompiler = (schema: Record<string, unknown>) => ArgumentSchema | { readonly error: string };

/**
 * A compiler for the argument schemas of one policy: ajv turns each fragment into a function once, at
 * config compile. One ajv per policy, made on first use, so a reload drops the old policy's compiled
 * schemas with it (ajv caches every schema it compiled). Strict mode turns a misspelt keyword into a
 * config error instead of a schema that silently allows everything.
 */
export function argumentSchemaCompiler(): ArgumentSchemaCompiler {
  let ajv: Ajv2020 | undefined;
  return (schema) => {
    // strictSchema (unknown keywords) is what catches mistakes; strictTypes/strictRequired would only
    // demand `type: object` at the root of fragments that always apply to an object.
    ajv ??= new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: false, validateFormats: false });
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(schema);
    } catch (err) {
      return { error: `invalid JSON Schema: ${(err as Error).message}` };
    }
    const a = ajv;
    return {
      check(args) {
        if (validate(args)) return undefined;
        return a.errorsText(validate.errors, { dataVar: 'arguments' });
      },
    };
  };
}

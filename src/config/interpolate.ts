import { isScalar, parseDocument, Scalar, visit } from 'yaml';
import type { Document, Node } from 'yaml';

/** What interpolation did to one document: what to report, and which nodes now hold values from the environment. */
export interface InterpolationResult {
  problems: { node: Node; message: string }[];
  /** Nodes whose value came (partly) from the environment, with the variable names: never echo these values. */
  sources: WeakMap<Node, readonly string[]>;
  /** Nodes left as written because interpolation failed: errors about their value would only repeat the cause. */
  failed: WeakSet<Node>;
}

type Expanded = { ok: true; value: string; vars: string[]; whole: boolean } | { ok: false; errors: string[] };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands `${VAR}` and `${VAR:-default}` (default when unset or empty); `$${` stands for a literal `${`.
 * Messages name variables and quote only text from the file, never a value from the environment.
 */
export function expand(text: string, env: NodeJS.ProcessEnv): Expanded {
  let out = '';
  const vars: string[] = [];
  const errors: string[] = [];
  let refs = 0;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i];
      i++;
      continue;
    }
    refs++;
    const close = text.indexOf('}', i + 2);
    if (close < 0) {
      errors.push(`unclosed "\${" (write "$\${" for a literal "\${")`);
      break;
    }
    const body = text.slice(i + 2, close);
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    const fallback = sep < 0 ? undefined : body.slice(sep + 2);
    if (!NAME.test(name)) {
      errors.push(`malformed "\${${body}}": expected \${NAME} or \${NAME:-default} (write "$\${" for a literal "\${")`);
    } else if (fallback?.includes('${')) {
      errors.push(`nested interpolation in the default of \${${name}} is not supported`);
    } else {
      const value = env[name];
      if (value !== undefined && (value !== '' || fallback === undefined)) {
        out += value;
      } else if (fallback !== undefined) {
        out += fallback;
      } else {
        errors.push(`environment variable ${name} is not set (use \${${name}:-default} to give a default)`);
      }
      if (!vars.includes(name)) vars.push(name);
    }
    i = close + 1;
  }
  if (errors.length > 0) return { ok: false, errors };
  const whole = refs === 1 && text.startsWith('${') && text.endsWith('}') && text.indexOf('}') === text.length - 1;
  return { ok: true, value: out, vars, whole };
}

/** `port: ${PORT}` should be a number, as if the value had been written there; only plain scalars get this. */
function reread(value: string): unknown {
  if (value.trim() === '' || /[\n\r]/.test(value)) return value;
  const doc = parseDocument(value);
  if (doc.errors.length > 0 || doc.warnings.length > 0 || !isScalar(doc.contents)) return value;
  const v = doc.contents.value;
  return typeof v === 'number' || typeof v === 'boolean' || v === null ? v : value;
}

/**
 * Interpolates every string scalar in value position, in place, so that positions in the document stay those of
 * the file. Keys are structure and are left alone.
 */
export function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv): InterpolationResult {
  const result: InterpolationResult = { problems: [], sources: new WeakMap(), failed: new WeakSet() };
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const x = expand(node.value, env);
      if (!x.ok) {
        for (const message of x.errors) result.problems.push({ node, message });
        result.failed.add(node);
        return;
      }
      if (x.vars.length > 0) result.sources.set(node, x.vars);
      const explicitTag = node.tag !== undefined && node.tag !== '!';
      node.value = x.whole && node.type === Scalar.PLAIN && !explicitTag ? reread(x.value) : x.value;
    },
  });
  return result;
}

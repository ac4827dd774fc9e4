import { isAlias, isMap, isScalar, isSeq, visit } from 'yaml';
import type { Document, Node } from 'yaml';

export interface SyntaxProblem {
  offset: number;
  message: string;
}

// One mistake (an unclosed bracket) can make the YAML parser complain about every token after it; past the first
// complaint on a line the rest is noise, and past a screenful nobody reads on.
const MAX_SYNTAX_PROBLEMS = 20;

/**
 * What YAML itself objects to, plus what it would let through silently: unknown aliases (which would throw later),
 * collection keys (which would be stringified), empty keys and unknown tags (YAML only warns).
 */
export function yamlProblems(doc: Document, text: string, lineOf: (offset: number) => number): SyntaxProblem[] {
  const keys = new Map<number, string>();
  const found: SyntaxProblem[] = [];
  visit(doc, {
    Alias(_, node) {
      if (!node.resolve(doc)) found.push({ offset: node.range?.[0] ?? 0, message: `unknown alias "*${node.source}"` });
    },
    Pair(_, pair) {
      const k = isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
      const offset = (pair.key as Node | null)?.range?.[0] ?? (pair.value as Node | null)?.range?.[0] ?? 0;
      if (isScalar(k) && k.value !== null) keys.set(offset, String(typeof k.value === 'symbol' ? k.value.description : k.value));
      if (isMap(k) || isSeq(k)) found.push({ offset, message: 'keys must be plain values, not lists or mappings' });
      else if (k == null || (isScalar(k) && k.value === null)) found.push({ offset, message: 'empty key' });
    },
  });

  const parsed: SyntaxProblem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const offset = e.pos[0];
    let message = e.message;
    const key = keys.get(offset);
    if (e.code === 'DUPLICATE_KEY' && key !== undefined) message = `duplicate key ${JSON.stringify(key)}`;
    // `{ port: ${PORT} }`: in a flow collection `{` is syntax, so an unquoted `${...}` breaks the line.
    if (text[offset] === '{' && text[offset - 1] === '$') message += ' (inside { } or [ ], quote the ${...} or use block style)';
    parsed.push({ offset, message });
  }
  const lines = new Set<number>();
  const out: SyntaxProblem[] = [];
  for (const p of [...parsed, ...found].sort((a, b) => a.offset - b.offset)) {
    const line = lineOf(p.offset);
    if (lines.has(line)) continue;
    lines.add(line);
    out.push(p);
  }
  if (out.length > MAX_SYNTAX_PROBLEMS) {
    const last = out[MAX_SYNTAX_PROBLEMS - 1]!;
    const more = out.length - MAX_SYNTAX_PROBLEMS;
    out.length = MAX_SYNTAX_PROBLEMS;
    out[MAX_SYNTAX_PROBLEMS - 1] = { ...last, message: `${last.message} (and ${more} more problems after this line)` };
  }
  return out;
}

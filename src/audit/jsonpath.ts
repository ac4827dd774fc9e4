// A compiled subset of JSONPath (RFC 9535) for redaction: `$`, `.name`, `['name']` / `["name"]` (with
// escapes), `[n]` (negative from the end), `[*]`, `.*`, and the descendant forms `..name`, `..*`,
// `..[...]`; a bracket may list several selectors (`['a', 0]`). Slices and filters are refused: a
// redaction path names places, it does not query.

export type Selector = { readonly kind: 'name'; readonly name: string } | { readonly kind: 'index'; readonly index: number } | { readonly kind: 'wildcard' };

export interface Segment {
  /** `..`: the selectors apply to the node and every node below it. */
  readonly descendant: boolean;
  readonly selectors: readonly Selector[];
}

export interface JsonPath {
  readonly source: string;
  readonly segments: readonly Segment[];
}

/** Where and why an expression does not parse; `column` is 1-based. */
export interface JsonPathError {
  readonly error: string;
  readonly column: number;
}

export function isJsonPathError(p: JsonPath | JsonPathError): p is JsonPathError {
  return 'error' in p;
}

class Fail {
  readonly message: string;
  readonly at: number;
  constructor(message: string, at: number) {
    this.message = message;
    this.at = at;
  }
}

const MAX_INDEX = Number.MAX_SAFE_INTEGER; // I-JSON range, RFC 9535 §2.1
const BLANK = new Set([' ', '\t', '\n', '\r']);

/** RFC 9535 name-first, by code point: ALPHA, "_", or any non-ASCII scalar value (no lone surrogates). */
function isNameFirst(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || (c >= 0x80 && !(c >= 0xd800 && c <= 0xdfff));
}

const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['b', '\b'],
  ['f', '\f'],
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
  ['/', '/'],
  ['\\', '\\'],
]);

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Parses an expression once, at compile time; the error names what was expected and where. */
export function parseJsonPath(text: string): JsonPath | JsonPathError {
  try {
    return { source: text, segments: new Parser(text).parse() };
  } catch (e) {
    if (e instanceof Fail) return { error: `${e.message} at column ${e.at + 1}`, column: e.at + 1 };
    throw e;
  }
}

class Parser {
  readonly s: string;
  i = 0;
  constructor(s: string) {
    this.s = s;
  }

  found(): string {
    return this.i >= this.s.length ? 'the end of the expression' : JSON.stringify(String.fromCodePoint(this.s.codePointAt(this.i)!));
  }

  fail(expected: string): never {
    throw new Fail(`expected ${expected}, found ${this.found()}`, this.i);
  }

  blank(): void {
    while (this.i < this.s.length && BLANK.has(this.s[this.i]!)) this.i++;
  }

  parse(): Segment[] {
    if (this.s[this.i] !== '$') this.fail('"$" (the root) to start the path');
    this.i++;
    const segments: Segment[] = [];
    for (;;) {
      const before = this.i;
      this.blank();
      if (this.i >= this.s.length) {
        if (this.i > before) throw new Fail('blank space must be followed by a segment', before);
        return segments;
      }
      const c = this.s[this.i];
      if (c === '[') segments.push({ descendant: false, selectors: this.bracket() });
      else if (c === '.' && this.s[this.i + 1] === '.') {
        this.i += 2;
        segments.push({ descendant: true, selectors: this.s[this.i] === '[' ? this.bracket() : [this.dotted('a member name, "*" or "[" after ".."')] });
      } else if (c === '.') {
        this.i++;
        segments.push({ descendant: false, selectors: [this.dotted('a member name or "*" after "."')] });
      } else this.fail('".", ".." or "["');
    }
  }

  /** `*` or a member-name shorthand, right after `.` or `..` (no blank allowed there). */
  dotted(expected: string): Selector {
    if (this.s[this.i] === '*') {
      this.i++;
      return { kind: 'wildcard' };
    }
    const start = this.i;
    if (this.i >= this.s.length || !isNameFirst(this.s.codePointAt(this.i)!)) this.fail(expected);
    while (this.i < this.s.length) {
      const c = this.s.codePointAt(this.i)!;
      if (!isNameFirst(c) && !isDigit(c)) break;
      this.i += c > 0xffff ? 2 : 1;
    }
    return { kind: 'name', name: this.s.slice(start, this.i) };
  }

  bracket(): Selector[] {
    this.i++; // [
    const out: Selector[] = [];
    for (;;) {
      this.blank();
      out.push(this.selector());
      this.blank();
      const c = this.s[this.i];
      if (c === ']') {
        this.i++;
        return out;
      }
      if (c !== ',') this.fail('"," or "]"');
      this.i++;
    }
  }

  selector(): Selector {
    const c = this.s[this.i];
    if (c === "'" || c === '"') return { kind: 'name', name: this.quoted(c) };
    if (c === '*') {
      this.i++;
      return { kind: 'wildcard' };
    }
    if (c === '-' || (c !== undefined && isDigit(c.charCodeAt(0)))) return this.index();
    if (c === ':') throw new Fail('slices are not supported in redaction paths', this.i);
    if (c === '?') throw new Fail('filters are not supported in redaction paths', this.i);
    return this.fail('a quoted name, an index or "*"');
  }

  index(): Selector {
    const start = this.i;
    if (this.s[this.i] === '-') this.i++;
    const digits = this.i;
    while (this.i < this.s.length && isDigit(this.s.charCodeAt(this.i))) this.i++;
    const text = this.s.slice(digits, this.i);
    if (text.length === 0) this.fail('a digit');
    if (text.length > 1 && text[0] === '0') throw new Fail('an index has no leading zeros', digits);
    if (text === '0' && digits > start) throw new Fail('"-0" is not an index', start);
    if (this.s[this.i] === ':') throw new Fail('slices are not supported in redaction paths', this.i);
    const n = Number(text);
    if (n > MAX_INDEX) throw new Fail(`an index must be at most ${MAX_INDEX}`, digits);
    return { kind: 'index', index: digits > start ? -n : n };
  }

  quoted(q: string): string {
    const open = this.i;
    this.i++;
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) throw new Fail(`unterminated string (opened with ${q})`, open);
      const ch = this.s[this.i]!;
      const code = ch.charCodeAt(0);
      if (ch === q) {
        this.i++;
        return out;
      }
      if (code < 0x20) throw new Fail('a control character must be escaped in a name', this.i);
      if (ch !== '\\') {
        out += ch;
        this.i++;
        continue;
      }
      const e = this.s[this.i + 1];
      const simple = e === undefined ? undefined : ESCAPES.get(e);
      if (simple !== undefined) out += simple;
      else if (e === q) out += q;
      else if (e === 'u') {
        out += this.unicode();
        continue;
      } else throw new Fail(`invalid escape ${e === undefined ? '"\\" at the end' : JSON.stringify(`\\${e}`)}`, this.i);
      this.i += 2;
    }
  }

  /** `\uXXXX`, a high surrogate only as the first half of a pair. */
  unicode(): string {
    const at = this.i;
    const hi = this.hex4(this.i + 2, at);
    this.i += 6;
    if (hi >= 0xdc00 && hi <= 0xdfff) throw new Fail('a low surrogate escape must follow a high one', at);
    if (hi < 0xd800 || hi > 0xdbff) return String.fromCharCode(hi);
    if (this.s[this.i] !== '\\' || this.s[this.i + 1] !== 'u') throw new Fail('a high surrogate escape must be followed by a low one (\\uDC00-\\uDFFF)', this.i);
    const lo = this.hex4(this.i + 2, this.i);
    if (lo < 0xdc00 || lo > 0xdfff) throw new Fail('a high surrogate escape must be followed by a low one (\\uDC00-\\uDFFF)', this.i);
    this.i += 6;
    return String.fromCharCode(hi, lo);
  }

  hex4(from: number, escapeAt: number): number {
    const h = this.s.slice(from, from + 4);
    if (!/^[0-9A-Fa-f]{4}$/.test(h)) throw new Fail('"\\u" must be followed by four hex digits', escapeAt);
    return Number.parseInt(h, 16);
  }
}

type Loc = readonly (string | number)[];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function select(sel: Selector, value: unknown, loc: Loc, out: { value: unknown; loc: Loc }[]): void {
  if (sel.kind === 'name') {
    // Own members only: "constructor" or "__proto__" must never reach inherited values.
    if (isObject(value) && Object.hasOwn(value, sel.name)) out.push({ value: value[sel.name], loc: [...loc, sel.name] });
  } else if (sel.kind === 'index') {
    if (!Array.isArray(value)) return;
    const i = sel.index < 0 ? value.length + sel.index : sel.index;
    if (i >= 0 && i < value.length) out.push({ value: value[i], loc: [...loc, i] });
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) out.push({ value: value[i], loc: [...loc, i] });
  } else if (isObject(value)) {
    for (const k of Object.keys(value)) out.push({ value: value[k], loc: [...loc, k] });
  }
}

/** The locations a path selects in `root` (possibly repeated: RFC 9535 node lists may be). */
export function locate(path: JsonPath, root: unknown): Loc[] {
  let nodes: { value: unknown; loc: Loc }[] = [{ value: root, loc: [] }];
  for (const seg of path.segments) {
    const next: { value: unknown; loc: Loc }[] = [];
    for (const n of nodes) {
      if (!seg.descendant) {
        for (const sel of seg.selectors) select(sel, n.value, n.loc, next);
        continue;
      }
      // The node and its descendants, in document order; a stack instead of recursion.
      const todo = [n];
      while (todo.length > 0) {
        const d = todo.pop()!;
        for (const sel of seg.selectors) select(sel, d.value, d.loc, next);
        const children: { value: unknown; loc: Loc }[] = [];
        select({ kind: 'wildcard' }, d.value, d.loc, children);
        for (let i = children.length - 1; i >= 0; i--) todo.push(children[i]!);
      }
    }
    nodes = next;
    if (nodes.length === 0) break;
  }
  return nodes.map((n) => n.loc);
}

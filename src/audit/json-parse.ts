// JSON.parse for verification, around a V8 bug: after a key spelled with an escape has been parsed
// (`{"\\":0}`), a later key that is a different single escaped character (`"\n"`, `"\""`, `"\u001f"`)
// can come back as the first one (nodejs/node#63785, crbug 521080746; seen on Node 24.21 / V8 13.6).
// A verifier that re-canonicalizes what it parsed would then call an intact entry tampered. Texts with
// no backslash cannot trigger it and keep the native parser; the others are read by this strict one.
import { setMember } from './canonical.ts';

/** Deeper than any entry can be (arguments are bounded at MAX_JSON_DEPTH): refused, not a stack overflow. */
const MAX_DEPTH = 1000;

/** Parses JSON text (RFC 8259) into plain values, correctly even where the native parser is not. */
export function parseJson(text: string): unknown {
  return text.includes('\\') ? new Strict(text).document() : JSON.parse(text);
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Strict {
  readonly s: string;
  i = 0;
  constructor(s: string) {
    this.s = s;
  }

  fail(what: string): never {
    throw new SyntaxError(`${what} in JSON at position ${this.i}`);
  }

  ws(): void {
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else return;
    }
  }

  document(): unknown {
    this.ws();
    const v = this.value(0);
    this.ws();
    if (this.i < this.s.length) this.fail('Unexpected non-whitespace character after JSON');
    return v;
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail(`Nesting deeper than ${MAX_DEPTH}`);
    const c = this.s[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === 't') return this.literal('true', true);
    if (c === 'f') return this.literal('false', false);
    if (c === 'n') return this.literal('null', null);
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (m === null) return this.fail(c === undefined ? 'Unexpected end' : `Unexpected token ${JSON.stringify(c)}`);
    this.i += m[0].length;
    return Number(m[0]);
  }

  literal<T>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.i)) this.fail('Unexpected token');
    this.i += word.length;
    return v;
  }

  object(depth: number): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = {};
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      if (this.s[this.i] !== '"') this.fail('Expected a property name');
      const k = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("Expected ':' after a property name");
      this.i++;
      this.ws();
      // Last one wins on a repeated name, as with JSON.parse; "__proto__" stays a member.
      setMember(out, k, this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail("Expected ',' or '}'");
      this.ws();
    }
  }

  array(depth: number): unknown[] {
    this.i++;
    const out: unknown[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail("Expected ',' or ']'");
      this.ws();
    }
  }

  string(): string {
    this.i++;
    let out = '';
    let from = this.i;
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.fail('Unterminated string');
      if (c === 0x22) {
        out += this.s.slice(from, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail('Bad control character in string literal');
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += this.s.slice(from, this.i);
      const e = this.s[this.i + 1];
      if (e === 'u') {
        const hex = this.s.slice(this.i + 2, this.i + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) this.fail('Bad Unicode escape');
        // Lone surrogates are kept, as JSON.parse keeps them.
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.i += 6;
      } else {
        const r = e === undefined ? undefined : SIMPLE_ESCAPES[e];
        if (r === undefined) this.fail('Bad escaped character');
        out += r;
        this.i += 2;
      }
      from = this.i;
    }
  }
}

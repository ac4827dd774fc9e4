import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node, Pair, YAMLMap } from 'yaml';

export type ConfigPath = readonly (string | number)[];

export interface Position {
  line: number;
  column: number;
}

/** Where a path lands in the YAML document. */
export interface PathHit {
  /** The node at the full path, aliases resolved; undefined when the path does not exist in the document. */
  node: Node | undefined;
  /** What to point at: the node itself, the key when its value is empty, or the nearest existing parent. */
  anchor: Node | undefined;
}

function keyText(pair: Pair): string | undefined {
  const k = pair.key;
  if (isScalar(k)) return typeof k.value === 'symbol' ? undefined : String(k.value);
  return typeof k === 'string' || typeof k === 'number' ? String(k) : undefined;
}

/** yaml marks a real merge key (`<<`, unquoted) with a symbol value; a quoted "<<" is an ordinary key. */
function isMergePair(pair: Pair): boolean {
  return isScalar(pair.key) && typeof pair.key.value === 'symbol';
}

function resolve(doc: Document, node: unknown): Node | undefined {
  if (isAlias(node)) return node.resolve(doc);
  return node != null && typeof node === 'object' ? (node as Node) : undefined;
}

/**
 * The pair that supplies `key` in `map`: its own pairs first, then merge keys (`<<: *base`) in their order of
 * precedence, since the parsed data sees exactly that pair.
 */
export function findPair(doc: Document, map: YAMLMap, key: string, depth = 0): Pair | undefined {
  const own = map.items.find((p) => keyText(p) === key);
  if (own || depth > 16) return own;
  for (const p of map.items) {
    if (!isMergePair(p)) continue;
    const src = resolve(doc, p.value);
    const sources = isSeq(src) ? src.items.map((i) => resolve(doc, i)) : [src];
    for (const s of sources) {
      if (!isMap(s)) continue;
      const hit = findPair(doc, s, key, depth + 1);
      if (hit) return hit;
    }
  }
  return undefined;
}

function isEmptyValue(node: unknown): boolean {
  if (node == null) return true;
  if (!isScalar(node) || node.value !== null || !node.range) return false;
  return node.range[0] === node.range[1];
}

/**
 * Follows a data path (as zod reports it) through the document. With `key`, the anchor is the key of the last
 * segment instead of its value, which is what an unknown key should point at.
 */
export function walkPath(doc: Document, path: ConfigPath, opts: { key?: boolean } = {}): PathHit {
  let cur = resolve(doc, doc.contents);
  let anchor: Node | undefined = cur;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    let child: unknown;
    let keyNode: Node | undefined;
    if (isMap(cur)) {
      const pair = findPair(doc, cur, String(seg));
      if (!pair) return { node: undefined, anchor };
      child = pair.value;
      keyNode = resolve(doc, pair.key);
    } else if (isSeq(cur) && typeof seg === 'number') {
      if (seg < 0 || seg >= cur.items.length) return { node: undefined, anchor };
      child = cur.items[seg];
    } else {
      return { node: undefined, anchor };
    }
    const next = resolve(doc, child);
    if (last && opts.key && keyNode) return { node: next, anchor: keyNode };
    // An alias is reported where it is used, but walking on goes through its anchor.
    const site = isAlias(child) ? (child as Node) : next;
    anchor = isEmptyValue(child) ? (keyNode ?? anchor) : (site ?? anchor);
    cur = next;
    if (cur === undefined) return { node: undefined, anchor };
  }
  return { node: cur, anchor };
}

export function positionOf(lc: LineCounter, node: Node | undefined): Position {
  const offset = node?.range?.[0];
  if (offset === undefined) return { line: 1, column: 1 };
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

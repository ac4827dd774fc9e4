/** One cached result. The result is kept as JSON text: every hit parses its own copy, so no caller can change what another is served. */
export interface StoredEntry {
  readonly text: string;
  /** What the entry counts against the byte bound (see entryBytes). */
  readonly bytes: number;
  /** Clock readings (ms) of the store's clock. */
  readonly storedAt: number;
  readonly expiresAt: number;
  readonly upstream: string;
  readonly method: string;
  /** The upstream's own tool name or resource URI. */
  readonly name: string;
}

export interface StoreLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** A bigger result is not kept: one huge answer must not flush everything else. */
  readonly maxEntryBytes: number;
}

/** Bookkeeping per entry beyond the text and key (the Map slot, the entry object, its strings): an estimate, so that tiny entries count too. */
const ENTRY_OVERHEAD = 160;

/** Bytes an entry is charged: the result's UTF-8 length, its key and the fixed overhead. */
export function entryBytes(key: string, text: string): number {
  return Buffer.byteLength(text, 'utf8') + key.length + ENTRY_OVERHEAD;
}

/** Expired entries are also swept in bulk at most this often, so that they do not hold bytes until LRU reaches them. */
const SWEEP_EVERY_MS = 5_000;

/**
 * A bounded LRU map of entries: bounded by count and by bytes, entries dropped when their time is up.
 * A Map keeps insertion order, so re-inserting on every hit makes its first entry the least recently used.
 */
export class EntryStore {
  readonly #limits: StoreLimits;
  readonly #map = new Map<string, StoredEntry>();
  #bytes = 0;
  #nextSweep = 0;
  evictions = 0;
  expirations = 0;

  constructor(limits: StoreLimits) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#map.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The live entry under `key`, now the most recently used; undefined when absent or expired. */
  get(key: string, now: number): StoredEntry | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.#remove(key, e);
      this.expirations++;
      return undefined;
    }
    this.#map.delete(key);
    this.#map.set(key, e);
    return e;
  }

  /** Keeps `e` under `key` (replacing what was there) and evicts to the bounds; false when it is too large to keep. */
  set(key: string, e: StoredEntry, now: number): boolean {
    if (e.bytes > this.#limits.maxEntryBytes || e.bytes > this.#limits.maxBytes) return false;
    const old = this.#map.get(key);
    if (old !== undefined) this.#remove(key, old);
    if (now >= this.#nextSweep) {
      this.#nextSweep = now + SWEEP_EVERY_MS;
      this.expirations += this.deleteWhere((x) => x.expiresAt <= now);
    }
    this.#map.set(key, e);
    this.#bytes += e.bytes;
    for (const [k, v] of this.#map) {
      if (this.#map.size <= this.#limits.maxEntries && this.#bytes <= this.#limits.maxBytes) break;
      this.#remove(k, v);
      this.evictions++;
    }
    return true;
  }

  /** Drops every entry `drop` picks; returns how many. */
  deleteWhere(drop: (e: StoredEntry) => boolean): number {
    let n = 0;
    for (const [k, v] of this.#map) {
      if (!drop(v)) continue;
      this.#remove(k, v);
      n++;
    }
    return n;
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }

  #remove(key: string, e: StoredEntry): void {
    this.#map.delete(key);
    this.#bytes -= e.bytes;
  }
}

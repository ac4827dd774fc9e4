// The in-memory Store: for tests and for `:memory:`-style setups that need no SQLite at all.
import type { Era } from '../protocol/mcp.ts';
import { StoreError, checkEra, checkKey, decodeCatalog, encodeCatalog } from './store.ts';
import type { EncodedCatalog, Store, StoredCatalog } from './store.ts';

export class MemoryStore implements Store {
  #eras = new Map<string, Era>();
  // Kept as JSON text, like the SQLite store, so callers can neither mutate stored state through a
  // reference nor observe behaviour that differs between the two implementations.
  #catalogs = new Map<string, EncodedCatalog>();
  #closed = false;

  async getUpstreamEra(identity: string): Promise<Era | undefined> {
    this.#open();
    checkKey('identity', identity);
    return this.#eras.get(identity);
  }

  async setUpstreamEra(identity: string, era: Era): Promise<void> {
    this.#open();
    checkKey('identity', identity);
    checkEra(era);
    this.#eras.set(identity, era);
  }

  async getUpstreamCatalog(upstream: string): Promise<StoredCatalog | undefined> {
    this.#open();
    checkKey('upstream', upstream);
    const e = this.#catalogs.get(upstream);
    return e === undefined ? undefined : decodeCatalog(upstream, e);
  }

  async putUpstreamCatalog(upstream: string, catalog: StoredCatalog): Promise<void> {
    this.#open();
    this.#catalogs.set(upstream, encodeCatalog(upstream, catalog));
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #open(): void {
    if (this.#closed) throw new StoreError('closed', 'the store is closed');
  }
}

export function createMemoryStore(): Store {
  return new MemoryStore();
}

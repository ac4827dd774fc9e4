// The in-memory Store: for tests and for `:memory:`-style setups that need no SQLite at all.
import type { Era } from '../protocol/mcp.ts';
import type { AuditStore } from './audit-store.ts';
import { forwardAudit } from './audit-forward.ts';
import { MemoryAudit } from './memory-audit.ts';
import {
  StoreError,
  checkApiKeyFilter,
  checkEra,
  checkKey,
  checkSigningKey,
  checkTimestamp,
  decodeApiKey,
  decodeCatalog,
  encodeApiKey,
  encodeCatalog,
} from './store.ts';
import type { ApiKeyKind, ApiKeyRecord, EncodedApiKey, EncodedCatalog, SigningKeyRecord, Store, StoredCatalog } from './store.ts';

/** The audit methods come from MemoryAudit (forwardAudit). */
export interface MemoryStore extends AuditStore {}

export class MemoryStore implements Store {
  #eras = new Map<string, Era>();
  // Kept as JSON text, like the SQLite store, so callers can neither mutate stored state through a
  // reference nor observe behaviour that differs between the two implementations.
  #catalogs = new Map<string, EncodedCatalog>();
  // Insertion order breaks ties in created time, as rowid does in SQLite.
  #apiKeys = new Map<string, EncodedApiKey>();
  #signingKeys = new Map<string, SigningKeyRecord>();
  #closed = false;
  constructor() {
    forwardAudit(this, new MemoryAudit(() => this.#open()));
  }

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

  async putApiKey(key: ApiKeyRecord): Promise<void> {
    this.#open();
    const e = encodeApiKey(key);
    if (this.#apiKeys.has(e.id)) throw new StoreError('invalid_input', `API key id '${e.id}' already exists`);
    this.#apiKeys.set(e.id, e);
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    this.#open();
    checkKey('API key id', id);
    const e = this.#apiKeys.get(id);
    return e === undefined ? undefined : decodeApiKey(e);
  }

  async listApiKeys(filter?: { includeRevoked?: boolean; kind?: ApiKeyKind }): Promise<ApiKeyRecord[]> {
    this.#open();
    const f = checkApiKeyFilter(filter);
    const out = [...this.#apiKeys.values()]
      .filter((e) => (f.includeRevoked || e.revokedAt === null) && (f.kind === undefined || e.kind === f.kind))
      .reverse();
    // Stable sort over the reversed insertion order: newest created first, later insert first on ties.
    out.sort((a, b) => (a.createdAt === b.createdAt ? 0 : a.createdAt < b.createdAt ? 1 : -1));
    return out.map(decodeApiKey);
  }

  async revokeApiKey(id: string, at: string): Promise<boolean> {
    this.#open();
    checkKey('API key id', id);
    checkTimestamp('revocation time', at);
    const e = this.#apiKeys.get(id);
    if (e === undefined || e.revokedAt !== null) return false;
    e.revokedAt = at;
    return true;
  }

  async expireApiKey(id: string, at: string): Promise<boolean> {
    this.#open();
    checkKey('API key id', id);
    checkTimestamp('expiry time', at);
    const e = this.#apiKeys.get(id);
    if (e === undefined || e.revokedAt !== null) return false;
    e.expiresAt = at;
    return true;
  }

  async touchApiKey(id: string, at: string): Promise<void> {
    this.#open();
    checkKey('API key id', id);
    checkTimestamp('last use time', at);
    const e = this.#apiKeys.get(id);
    if (e !== undefined && (e.lastUsedAt === null || e.lastUsedAt < at)) e.lastUsedAt = at;
  }

  async putSigningKey(key: SigningKeyRecord): Promise<void> {
    this.#open();
    checkSigningKey(key);
    if (this.#signingKeys.has(key.kid)) throw new StoreError('invalid_input', `signing key kid '${key.kid}' already exists`);
    this.#signingKeys.set(key.kid, copySigningKey(key));
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    this.#open();
    const out = [...this.#signingKeys.values()].map(copySigningKey);
    out.sort((a, b) => (a.createdAt === b.createdAt ? 0 : a.createdAt < b.createdAt ? -1 : 1));
    return out;
  }

  async retireSigningKey(kid: string, at: string): Promise<boolean> {
    this.#open();
    checkKey('signing key kid', kid);
    checkTimestamp('retirement time', at);
    const k = this.#signingKeys.get(kid);
    if (k === undefined || k.retiredAt !== undefined) return false;
    k.retiredAt = at;
    return true;
  }

  async pruneSigningKeys(before: string): Promise<number> {
    this.#open();
    checkTimestamp('prune time', before);
    let n = 0;
    for (const [kid, k] of this.#signingKeys) {
      if (k.retiredAt !== undefined && k.retiredAt < before) {
        this.#signingKeys.delete(kid);
        n++;
      }
    }
    return n;
  }

  /** Nothing to reach: answers while open. */
  async ping(): Promise<void> {
    this.#open();
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

// Only the record's own fields, as SQLite keeps them; the copy keeps callers off stored state.
function copySigningKey(k: SigningKeyRecord): SigningKeyRecord {
  return { kid: k.kid, alg: k.alg, publicJwk: k.publicJwk, privateJwk: k.privateJwk, createdAt: k.createdAt, retiredAt: k.retiredAt };
}

export function createMemoryStore(): Store {
  return new MemoryStore();
}

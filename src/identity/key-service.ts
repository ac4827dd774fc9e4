// API key management, shared by `gatehouse keys` and the admin API: input rules live here once.
import type { ApiKeyKind, ApiKeyRecord, Store } from '../store/store.ts';
import { checkIdentity, quote } from './identity-input.ts';
import { API_KEY_PREFIX, displayKeyId, generateApiKey, isApiKeyId } from './api-key-format.ts';

export type KeyInputErrorCode = 'invalid' | 'not_found' | 'conflict';

/** A request the key service refuses; `message` is written for the person who made it. */
export class KeyInputError extends Error {
  /** invalid: bad input (400); not_found: no such key (404); conflict: the key's state forbids it (409). */
  readonly code: KeyInputErrorCode;
  constructor(message: string, code: KeyInputErrorCode = 'invalid') {
    super(message);
    this.name = 'KeyInputError';
    this.code = code;
  }
}

export interface CreateKeyInput {
  /** Default 'agent'. */
  kind?: ApiKeyKind;
  agent: string;
  name?: string;
  user?: string;
  tenant?: string;
  roles?: readonly string[];
  scopes?: readonly string[];
  /** Lifetime from now; or `expiresAt`, not both. Neither: the key does not expire. */
  expiresInSeconds?: number;
  /** ISO 8601 date or time with a zone (`2027-01-31`, `2027-01-31T12:00:00Z`). */
  expiresAt?: string;
}

export type ApiKeyState = 'active' | 'expired' | 'revoked';

/** A key as shown to people and API clients: everything but the hash, plus its state now. */
export interface ApiKeyView extends Omit<ApiKeyRecord, 'hash'> {
  state: ApiKeyState;
}

export interface CreatedKey {
  /** The whole key text: shown once, never stored, cannot be recovered. */
  key: string;
  record: ApiKeyView;
}

const MAX_LIFETIME_S = 100 * 365 * 86_400;
const MAX_GRACE_S = 90 * 86_400;
const ISO_INPUT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export async function createKey(store: Store, input: CreateKeyInput, now: number): Promise<CreatedKey> {
  checkNow(now);
  if (input === null || typeof input !== 'object') throw new KeyInputError('key details must be an object');
  const kind = input.kind ?? 'agent';
  if (kind !== 'agent' && kind !== 'admin') throw new KeyInputError(`kind must be 'agent' or 'admin', got ${quote(kind)}`);
  const expiresAt = expiryOf(input, now);
  return issue(
    store,
    {
      kind,
      ...checkIdentity(input, (m) => new KeyInputError(m), 'key'),
      expiresAt,
      rotatedFrom: undefined,
    },
    now,
  );
}

export async function listKeys(store: Store, filter: { includeRevoked?: boolean; kind?: ApiKeyKind } = {}, now: number = Date.now()): Promise<ApiKeyView[]> {
  if (filter.kind !== undefined && filter.kind !== 'agent' && filter.kind !== 'admin') throw new KeyInputError(`kind must be 'agent' or 'admin', got ${quote(filter.kind)}`);
  if (filter.includeRevoked !== undefined && typeof filter.includeRevoked !== 'boolean') throw new KeyInputError('includeRevoked must be true or false');
  const records = await store.listApiKeys({ includeRevoked: filter.includeRevoked === true, ...(filter.kind ? { kind: filter.kind } : {}) });
  return records.map((r) => toView(r, now));
}

/** One key by id (with or without the `ghk_` prefix). */
export async function getKey(store: Store, id: string, now: number): Promise<ApiKeyView> {
  return toView(await mustGet(store, normalizeKeyId(id)), now);
}

/** Revokes a key at once; refuses an unknown or already revoked one. Returns the key as it is now. */
export async function revokeKey(store: Store, id: string, now: number): Promise<ApiKeyView> {
  checkNow(now);
  const key = normalizeKeyId(id);
  const before = await mustGet(store, key);
  if (before.revokedAt !== undefined) throw new KeyInputError(`API key ${displayKeyId(key)} was already revoked (${before.revokedAt})`, 'conflict');
  if (!(await store.revokeApiKey(key, iso(now)))) throw new KeyInputError(`API key ${displayKeyId(key)} was revoked meanwhile`, 'conflict');
  return toView(await mustGet(store, key), now);
}

/**
 * Replaces a key with a new one of the same attributes and the same lifetime (from now), then lets
 * the old one live `graceSeconds` more (never longer than it would have anyway; 0 revokes it now),
 * so its holders can switch without an outage.
 */
export async function rotateKey(store: Store, id: string, opts: { graceSeconds: number }, now: number): Promise<CreatedKey & { previous: ApiKeyView }> {
  checkNow(now);
  const grace = opts?.graceSeconds;
  if (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_S) {
    throw new KeyInputError(`grace must be a whole number of seconds from 0 to ${MAX_GRACE_S} (90 days), got ${quote(grace)}`);
  }
  const oldId = normalizeKeyId(id);
  const old = await mustGet(store, oldId);
  const state = stateOf(old, now);
  if (state !== 'active') throw new KeyInputError(`API key ${displayKeyId(oldId)} is ${state}: only an active key can be rotated; create a new one instead`, 'conflict');
  // A second successor would leave two live keys where the operator expects one.
  const successor = (await store.listApiKeys({ includeRevoked: true })).find((k) => k.rotatedFrom === oldId);
  if (successor !== undefined) {
    throw new KeyInputError(`API key ${displayKeyId(oldId)} was already rotated to ${displayKeyId(successor.id)}; rotate that one instead`, 'conflict');
  }

  const lifetime = old.expiresAt === undefined ? undefined : Date.parse(old.expiresAt) - Date.parse(old.createdAt);
  const created = await issue(
    store,
    { kind: old.kind, name: old.name, agent: old.agent, user: old.user, tenant: old.tenant, roles: old.roles, scopes: old.scopes, expiresAt: lifetime === undefined ? undefined : iso(now + lifetime), rotatedFrom: oldId },
    now,
  );
  const until = now + grace * 1000;
  let ok: boolean;
  if (grace === 0) ok = await store.revokeApiKey(oldId, iso(now));
  else if (old.expiresAt !== undefined && Date.parse(old.expiresAt) <= until) ok = true;
  else ok = await store.expireApiKey(oldId, iso(until));
  if (!ok) {
    // Revoked by someone else between our read and write: that was deliberate, so the new key goes too.
    await store.revokeApiKey(created.record.id, iso(now));
    throw new KeyInputError(`API key ${displayKeyId(oldId)} was revoked meanwhile; nothing was rotated`, 'conflict');
  }
  return { ...created, previous: toView(await mustGet(store, oldId), now) };
}

/** A key id as people type it: `ghk_AbCdEfGhIjKl` or `AbCdEfGhIjKl`. */
export function normalizeKeyId(text: string): string {
  if (typeof text !== 'string') throw new KeyInputError('a key id is required');
  const bare = text.startsWith(API_KEY_PREFIX) ? text.slice(API_KEY_PREFIX.length) : text;
  if (isApiKeyId(bare)) return bare;
  if (bare.includes('_') && text.startsWith(API_KEY_PREFIX)) {
    // The whole key was pasted: name the id part only, the rest is the secret.
    throw new KeyInputError(`pass the key id (${API_KEY_PREFIX} and the 12 characters after it), not the whole key`);
  }
  throw new KeyInputError(`${quote(text.slice(0, 40))} is not an API key id (${API_KEY_PREFIX} followed by 12 letters or digits)`);
}

export function stateOf(r: Pick<ApiKeyRecord, 'revokedAt' | 'expiresAt'>, now: number): ApiKeyState {
  if (r.revokedAt !== undefined) return 'revoked';
  if (r.expiresAt !== undefined && Date.parse(r.expiresAt) <= now) return 'expired';
  return 'active';
}

export function toView(r: ApiKeyRecord, now: number): ApiKeyView {
  const { hash: _hash, ...rest } = r;
  return { ...rest, state: stateOf(r, now) };
}

type Attributes = Omit<ApiKeyRecord, 'id' | 'hash' | 'createdAt' | 'revokedAt' | 'lastUsedAt'>;

async function issue(store: Store, attrs: Attributes, now: number): Promise<CreatedKey> {
  // 71 random bits make a clash all but impossible; checking costs one lookup and rules it out.
  let generated = generateApiKey();
  for (let tries = 1; (await store.getApiKey(generated.id)) !== undefined; tries++) {
    if (tries === 3) throw new Error('three generated API key ids were all taken: the random source is broken');
    generated = generateApiKey();
  }
  const record: ApiKeyRecord = { id: generated.id, hash: generated.hash, ...attrs, roles: [...attrs.roles], scopes: [...attrs.scopes], createdAt: iso(now), revokedAt: undefined, lastUsedAt: undefined };
  await store.putApiKey(record);
  return { key: generated.text, record: toView(record, now) };
}

async function mustGet(store: Store, id: string): Promise<ApiKeyRecord> {
  const r = await store.getApiKey(id);
  if (r === undefined) throw new KeyInputError(`no API key ${displayKeyId(id)}`, 'not_found');
  return r;
}

function expiryOf(input: CreateKeyInput, now: number): string | undefined {
  const { expiresInSeconds: s, expiresAt: at } = input;
  if (s !== undefined && at !== undefined) throw new KeyInputError('give expiresInSeconds or expiresAt, not both');
  if (s !== undefined) {
    if (typeof s !== 'number' || !Number.isInteger(s) || s <= 0 || s > MAX_LIFETIME_S) {
      throw new KeyInputError(`expiresInSeconds must be a whole number of seconds from 1 to ${MAX_LIFETIME_S} (100 years), got ${quote(s)}`);
    }
    return iso(now + s * 1000);
  }
  if (at === undefined) return undefined;
  if (typeof at !== 'string' || !ISO_INPUT.test(at) || Number.isNaN(Date.parse(at)) || !realDate(at)) {
    throw new KeyInputError(`expiresAt must be an ISO 8601 date or a time with a zone (2027-01-31 or 2027-01-31T12:00:00Z), got ${quote(at)}`);
  }
  const t = Date.parse(at);
  if (t <= now) throw new KeyInputError(`expiresAt ${at} is not in the future`);
  if (t > now + MAX_LIFETIME_S * 1000) throw new KeyInputError(`expiresAt ${at} is more than 100 years away`);
  return iso(t);
}

/** Date.parse takes 2027-02-30 as March 2nd; a typo in an expiry date must not move it. */
function realDate(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}




function checkNow(now: number): void {
  if (!Number.isFinite(now)) throw new TypeError(`now must be epoch milliseconds, got ${String(now)}`);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}


// The gateway's token-signing keys: made, retired and pruned in the store; imported once per process.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SigningKeyRecord, Store } from '../../store/store.ts';

export type SigningAlg = SigningKeyRecord['alg'];

/** A verification key as this process holds it. */
export interface RingKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly publicKey: CryptoKey;
  /** Epoch ms; undefined while the key signs. */
  readonly retiredAt: number | undefined;
}

/** Public members per key type: the published JWK is built from these only, so `d` can never leak. */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = { OKP: ['kty', 'crv', 'x'], EC: ['kty', 'crv', 'x', 'y'] };

/** Makes a key pair; kid is the RFC 7638 thumbprint of its public key. */
export async function generateSigningKey(alg: SigningAlg, now: number): Promise<SigningKeyRecord> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const pub = publicJwk(await exportJWK(publicKey));
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  const priv = await exportJWK(privateKey);
  return {
    kid,
    alg,
    publicJwk: JSON.stringify({ ...pub, kid, alg, use: 'sig' }),
    privateJwk: JSON.stringify({ ...priv, kid, alg }),
    createdAt: new Date(now).toISOString(),
    retiredAt: undefined,
  };
}

/** Only the public members of a JWK (by key type); throws for a key type the gateway does not make. */
export function publicJwk(jwk: JWK): JWK {
  const members = jwk.kty === undefined ? undefined : PUBLIC_MEMBERS[jwk.kty];
  if (members === undefined) throw new Error(`signing keys are OKP or EC, not ${String(jwk.kty)}`);
  const src = jwk as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const m of members) if (src[m] !== undefined) out[m] = src[m];
  return out as JWK;
}

/** The key that signs: the newest one not retired (two appear only when two processes raced). */
export function activeKey(records: readonly SigningKeyRecord[]): SigningKeyRecord | undefined {
  let best: SigningKeyRecord | undefined;
  for (const r of records) if (r.retiredAt === undefined && (best === undefined || r.createdAt >= best.createdAt)) best = r;
  return best;
}

/** A retired key stays published (and verifies) until every token it signed has expired. */
export function isPublished(r: { retiredAt: string | undefined }, now: number, maxTtlSeconds: number): boolean {
  return r.retiredAt === undefined || Date.parse(r.retiredAt) + maxTtlSeconds * 1000 > now;
}

/**
 * The verification keys known to this process, reloaded from the store when a token names a kid it
 * does not know (another process rotated), at most once per `reloadEveryMs` so random kids cannot turn
 * into a store read per request.
 */
export class VerifyKeys {
  readonly #store: Store;
  readonly #reloadEveryMs: number;
  #keys = new Map<string, RingKey>();
  /** Stored keys that could not be imported, by kid: reported when a token names one. */
  #broken = new Map<string, string>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;

  constructor(store: Store, reloadEveryMs: number) {
    this.#store = store;
    this.#reloadEveryMs = reloadEveryMs;
  }

  /** The key of `kid`, or why there is none usable. */
  async find(kid: string, now: number): Promise<RingKey | { problem: string } | undefined> {
    let key = this.#keys.get(kid);
    if (key === undefined && (now - this.#loadedAt >= this.#reloadEveryMs || now < this.#loadedAt)) {
      this.#loading ??= this.#load(now).finally(() => (this.#loading = undefined));
      await this.#loading;
      key = this.#keys.get(kid);
    }
    if (key !== undefined) return key;
    const problem = this.#broken.get(kid);
    return problem === undefined ? undefined : { problem };
  }

  /** Forget everything: the next lookup reads the store (after this process rotated or minted with a new key). */
  invalidate(): void {
    this.#loadedAt = Number.NEGATIVE_INFINITY;
  }

  async #load(now: number): Promise<void> {
    const records = await this.#store.listSigningKeys();
    const keys = new Map<string, RingKey>();
    const broken = new Map<string, string>();
    for (const r of records) {
      const retiredAt = r.retiredAt === undefined ? undefined : Date.parse(r.retiredAt);
      const known = this.#keys.get(r.kid);
      if (known !== undefined && known.alg === r.alg) {
        keys.set(r.kid, known.retiredAt === retiredAt ? known : { ...known, retiredAt });
        continue;
      }
      try {
        const publicKey = (await importJWK(publicJwk(JSON.parse(r.publicJwk) as JWK), r.alg)) as CryptoKey;
        keys.set(r.kid, { kid: r.kid, alg: r.alg, publicKey, retiredAt });
      } catch (err) {
        broken.set(r.kid, `the stored signing key ${r.kid} cannot be read: ${(err as Error).message}`);
      }
    }
    this.#keys = keys;
    this.#broken = broken;
    this.#loadedAt = now;
  }
}

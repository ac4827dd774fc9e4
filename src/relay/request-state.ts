import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * The `requestState` the gateway hands a 2026-07-28 agent in an `input_required` result. It is
 * sealed with AES-256-GCM (AEAD: integrity and confidentiality — an upstream's own state inside it is
 * not shown to the agent) and binds what the spec asks for: the principal, an expiry and the request
 * (method, target and a digest of its arguments). A state that fails any check is refused.
 *
 * Wire form: `gh1.` + base64url(iv[12] | ciphertext | tag[16]). The version prefix lets a later key or
 * format roll over without misreading old states.
 */
export interface StateBinding {
  /** Principal id the state was issued to. */
  readonly p: string;
  /** Method and target: `tools/call pub_name`. */
  readonly r: string;
  /** Digest of the arguments that matter to the request. */
  readonly d: string;
  /** Expiry, ms since the epoch. */
  readonly e: number;
}

/** A state for a call parked in this gateway (2025-era upstream) or wrapping an upstream's own state. */
export type SealedState =
  | (StateBinding & { readonly k: 'parked'; readonly id: string; readonly n: number })
  | (StateBinding & { readonly k: 'wrapped'; readonly u: string; readonly s?: string });

const PREFIX = 'gh1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD = Buffer.from('gatehouse/requestState/v1');

export type OpenResult = { readonly ok: true; readonly state: SealedState } | { readonly ok: false; readonly reason: string };

export class RequestStateSealer {
  readonly #key: Buffer;

  /** `secret`: any string of at least 32 characters (hashed to the key); undefined: a random key for this process. */
  constructor(secret?: string) {
    this.#key = secret === undefined ? randomBytes(32) : createHash('sha256').update(secret, 'utf8').digest();
  }

  seal(state: SealedState): string {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(AAD);
    const body = Buffer.concat([c.update(JSON.stringify(state), 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, body, c.getAuthTag()]).toString('base64url');
  }

  /** Opens and checks a state against the request presenting it. Never throws. */
  open(token: unknown, expect: { principal: string; request: string; digest: string; now: number }): OpenResult {
    if (typeof token !== 'string' || !token.startsWith(PREFIX)) return { ok: false, reason: 'requestState was not issued by this gateway' };
    const raw = Buffer.from(token.slice(PREFIX.length), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES + 2) return { ok: false, reason: 'requestState is malformed' };
    let state: SealedState;
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
      d.setAAD(AAD);
      d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const text = Buffer.concat([d.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), d.final()]).toString('utf8');
      state = JSON.parse(text) as SealedState;
    } catch {
      return { ok: false, reason: 'requestState failed integrity verification' };
    }
    if (state.p !== expect.principal) return { ok: false, reason: 'requestState was issued to another principal' };
    if (state.r !== expect.request || state.d !== expect.digest) return { ok: false, reason: 'requestState belongs to a different request' };
    if (!(state.e > expect.now)) return { ok: false, reason: 'requestState has expired' };
    return { ok: true, state };
  }
}

/**
 * A digest of the parts of a request that make it "the same request" on retry: its arguments, minus
 * the retry fields and `_meta`. Keys are sorted so a client that rebuilds the object in another order
 * still matches.
 */
export function requestDigest(params: Record<string, unknown> | undefined): string {
  const h = createHash('sha256');
  if (params !== undefined) {
    for (const key of Object.keys(params).sort()) {
      if (key === '_meta' || key === 'inputResponses' || key === 'requestState') continue;
      h.update(key).update('\u0000').update(canonical(params[key])).update('\u0000');
    }
  }
  return h.digest('base64url').slice(0, 22);
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

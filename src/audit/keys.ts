// The audit key: Ed25519, signs checkpoints of the chain head, and (through HKDF) keys the digest of
// call arguments, so the trail needs one secret, not two.
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  hkdfSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { AuditCheckpoint, AuditKeyRecord } from '../store/audit-store.ts';
import { canonicalJson, canonicalWellFormed, sha256Base64url } from './canonical.ts';

/** HKDF `info` of the argument digest key: a distinct label, so the derived key serves nothing else. */
const DIGEST_INFO = 'gatehouse audit args digest';

interface OkpJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  d?: string;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key: its required members, canonical. */
export function jwkThumbprint(jwk: { crv: string; kty: string; x: string }): string {
  return sha256Base64url(canonicalJson({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }));
}

/** A fresh Ed25519 audit key; `kid` is the RFC 7638 thumbprint of its public half. */
export function generateAuditKey(now: Date = new Date()): AuditKeyRecord {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = publicKey.export({ format: 'jwk' }) as OkpJwk;
  const priv = privateKey.export({ format: 'jwk' }) as OkpJwk;
  const kid = jwkThumbprint(pub);
  return {
    kid,
    publicJwk: JSON.stringify({ kty: pub.kty, crv: pub.crv, x: pub.x, kid, alg: 'EdDSA', use: 'sig' }),
    privateJwk: JSON.stringify({ kty: priv.kty, crv: priv.crv, x: priv.x, d: priv.d, kid, alg: 'EdDSA', use: 'sig' }),
    createdAt: now.toISOString(),
  };
}

function parseJwk(text: string, what: string): OkpJwk {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  const o = j as Partial<OkpJwk> | null;
  if (o === null || typeof o !== 'object' || o.kty !== 'OKP' || o.crv !== 'Ed25519' || typeof o.x !== 'string') {
    throw new Error(`${what} is not an Ed25519 JWK (kty OKP, crv Ed25519)`);
  }
  return o as OkpJwk;
}

// Checkpoints are signed every few seconds at most: importing the JWK once per record is enough.
const privateKeys = new WeakMap<AuditKeyRecord, KeyObject>();

function privateKeyOf(key: AuditKeyRecord): KeyObject {
  let k = privateKeys.get(key);
  if (k === undefined) {
    const jwk = parseJwk(key.privateJwk, `private JWK of audit key ${key.kid}`);
    if (typeof jwk.d !== 'string') throw new Error(`private JWK of audit key ${key.kid} has no private part (d)`);
    k = createPrivateKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d }, format: 'jwk' });
    privateKeys.set(key, k);
  }
  return k;
}

/** The exact bytes a checkpoint signature covers. */
export function checkpointPayload(c: Omit<AuditCheckpoint, 'signature'>): Buffer {
  return Buffer.from(canonicalJson({ chain: c.chain, seq: c.seq, hash: c.hash, time: c.time, kid: c.kid }), 'utf8');
}

/** Signs "chain C had hash H at seq S, as of time T". */
export function signCheckpoint(key: AuditKeyRecord, p: { chain: string; seq: number; hash: string; time: string }): AuditCheckpoint {
  const unsigned = { chain: p.chain, seq: p.seq, hash: p.hash, time: p.time, kid: key.kid };
  const signature = sign(null, checkpointPayload(unsigned), privateKeyOf(key)).toString('base64url');
  return { ...unsigned, signature };
}

// Verification reads many checkpoints signed by few keys: keep the imported keys by JWK text.
const publicKeys = new Map<string, KeyObject | null>();
const PUBLIC_KEY_CACHE = 64;

function publicKeyOf(jwkText: string): KeyObject | null {
  let k = publicKeys.get(jwkText);
  if (k !== undefined) return k;
  try {
    const jwk = parseJwk(jwkText, 'public JWK');
    k = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
  } catch {
    k = null;
  }
  if (publicKeys.size >= PUBLIC_KEY_CACHE) publicKeys.clear();
  publicKeys.set(jwkText, k);
  return k;
}

/**
 * Checks a checkpoint's signature against the public key its kid names. A kid with no key, or whose
 * key is not a usable Ed25519 JWK, is `unknown_key`: nothing could verify the signature either way.
 */
export function verifyCheckpoint(c: AuditCheckpoint, publicJwkByKid: ReadonlyMap<string, string>): 'ok' | 'bad_signature' | 'unknown_key' {
  const text = publicJwkByKid.get(c.kid);
  const key = text === undefined ? null : publicKeyOf(text);
  if (key === null) return 'unknown_key';
  if (typeof c.signature !== 'string' || !/^[A-Za-z0-9_-]*$/.test(c.signature)) return 'bad_signature';
  try {
    return verify(null, checkpointPayload(c), key, Buffer.from(c.signature, 'base64url')) ? 'ok' : 'bad_signature';
  } catch {
    // A checkpoint whose fields have no canonical form (tampered into non-JSON) cannot have been signed.
    return 'bad_signature';
  }
}

/**
 * The digest of call arguments: `hmac-sha256:<kid>:<hex>` over their canonical JSON. Keyed, so that a
 * redacted low-entropy secret (a PIN, a short password) cannot be recovered by hashing guesses; whoever
 * holds the audit key can check a claimed value. The HMAC key is derived from the private key (HKDF-SHA256),
 * so no second secret is stored, and the kid in the digest says which key to derive it from.
 */
export function argsDigester(key: AuditKeyRecord): (args: unknown) => string {
  const jwk = parseJwk(key.privateJwk, `private JWK of audit key ${key.kid}`);
  if (typeof jwk.d !== 'string') throw new Error(`private JWK of audit key ${key.kid} has no private part (d)`);
  const ikm = Buffer.from(jwk.d, 'base64url');
  const hmacKey = createSecretKey(Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), DIGEST_INFO, 32)));
  const prefix = `hmac-sha256:${key.kid}:`;
  return (args) => prefix + createHmac('sha256', hmacKey).update(canonicalWellFormed(args).text, 'utf8').digest('hex');
}

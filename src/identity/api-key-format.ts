// The text of a Gatehouse API key, and how its secret is kept.
//
//   ghk_<id>_<secret><check>     66 characters, letters and digits after the prefix and separator
//   id      12 base62 characters, random (about 71 bits): public, names the key in lists and audit
//   secret  43 base62 characters: 32 random bytes (256 bits) as one fixed-width base62 number
//   check   6 base62 characters: CRC-32 of everything before it, so a mistyped or truncated key is
//           refused without a store lookup (and secret scanners can tell a real key from noise)
//
// Base62 rather than base64url: a key survives double-click selection, URLs and shell quoting whole.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const API_KEY_PREFIX = 'ghk_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_LENGTH = 12;
const SECRET_BYTES = 32;
const SECRET_LENGTH = 43; // ceil(256 / log2(62))
const CHECK_LENGTH = 6; // 62^6 > 2^32
export const API_KEY_LENGTH = API_KEY_PREFIX.length + ID_LENGTH + 1 + SECRET_LENGTH + CHECK_LENGTH;
const SHAPE = /^ghk_([0-9A-Za-z]{12})_([0-9A-Za-z]{43})([0-9A-Za-z]{6})$/;
const ID_SHAPE = /^[0-9A-Za-z]{12}$/;

export interface GeneratedApiKey {
  /** Public part: the store's lookup key. */
  id: string;
  /** Shown once inside `text`; never stored. */
  secret: string;
  /** The whole key as the holder sends it. */
  text: string;
  /** What the store keeps. */
  hash: string;
}

export function generateApiKey(): GeneratedApiKey {
  const id = randomBase62(ID_LENGTH);
  const secret = toBase62(randomBytes(SECRET_BYTES), SECRET_LENGTH);
  const body = `${API_KEY_PREFIX}${id}_${secret}`;
  return { id, secret, text: body + checksum(body), hash: hashSecret(secret) };
}

/** The id and secret of a well-formed key (exact shape, matching checksum); undefined for anything else. */
export function parseApiKey(text: string): { id: string; secret: string } | undefined {
  const r = checkApiKeyText(text);
  return r.ok ? { id: r.id, secret: r.secret } : undefined;
}

/**
 * Like parseApiKey, with the reason a text is refused. The reason never quotes the text: it may be a
 * real secret with one character wrong.
 */
export function checkApiKeyText(text: unknown): { ok: true; id: string; secret: string } | { ok: false; problem: string } {
  if (typeof text !== 'string' || !text.startsWith(API_KEY_PREFIX)) return { ok: false, problem: `an API key starts with ${API_KEY_PREFIX}` };
  if (text.length !== API_KEY_LENGTH) {
    return { ok: false, problem: `an API key is ${API_KEY_LENGTH} characters long, this one has ${text.length > 999 ? 'more than 999' : text.length} (truncated or extended?)` };
  }
  const m = SHAPE.exec(text);
  if (m === null) return { ok: false, problem: `an API key is ${API_KEY_PREFIX}, 12 letters or digits, "_", then 49 letters or digits` };
  const [, id, secret, check] = m as unknown as [string, string, string, string];
  if (checksum(text.slice(0, -CHECK_LENGTH)) !== check) return { ok: false, problem: 'the checksum of the API key does not match (mistyped or altered?)' };
  return { ok: true, id, secret };
}

/** Whether `text` is a key id: 12 letters or digits, without the prefix. */
export function isApiKeyId(text: string): boolean {
  return ID_SHAPE.test(text);
}

/** How people see a key id (lists, messages): the start of the key text they hold. */
export function displayKeyId(id: string): string {
  return `${API_KEY_PREFIX}${id}`;
}

/**
 * Hex SHA-256 of a secret. A fast hash is enough: the secret is 256 random bits, so there is no
 * dictionary to try and brute force is out of reach; a slow (password) hash would only cost CPU on
 * every request.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash; false for a malformed hash. */
export function secretMatches(secret: string, hash: string): boolean {
  const expected = Buffer.from(hash, 'hex');
  const actual = createHash('sha256').update(secret, 'utf8').digest();
  // Buffer.from(hex) stops at the first non-hex pair, so a bad hash comes out shorter than 32 bytes.
  if (hash.length !== 64 || expected.length !== actual.length) return false;
  return timingSafeEqual(actual, expected);
}

function checksum(body: string): string {
  return toBase62(BigInt(crc32(body)), CHECK_LENGTH);
}

/** `length` characters, each uniform over the alphabet (rejection sampling: no modulo bias). */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      // 248 = 4 × 62: bytes at or above it would favour the first characters.
      if (b < 248) out += ALPHABET[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function toBase62(value: Buffer | bigint, width: number): string {
  let n = typeof value === 'bigint' ? value : BigInt(`0x${value.toString('hex')}`);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(width, '0');
}

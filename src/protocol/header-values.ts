/**
 * Value Encoding of the 2026-07-28 mirrored headers, shared by the edge (which decodes and checks what
 * agents send) and the upstream transports (which encode what the gateway sends). `Mcp-Name` and
 * `Mcp-Param-*` carry a plain visible-ASCII value, or `=?base64?{base64 of UTF-8}?=` when the value has
 * other characters, leading/trailing whitespace, is empty, or itself looks like the sentinel.
 */

export const SENTINEL_PREFIX = '=?base64?';
export const SENTINEL_SUFFIX = '?=';

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The header form of `value`: as-is when it is a safe plain field value, else the Base64 sentinel. */
export function encodeHeaderValue(value: string): string {
  if (isPlainSafe(value)) return value;
  return `${SENTINEL_PREFIX}${Buffer.from(value, 'utf8').toString('base64')}${SENTINEL_SUFFIX}`;
}

/**
 * The value a received `Mcp-Name` / `Mcp-Param-*` header stands for, or undefined when it is not
 * acceptable: characters outside visible ASCII, space and tab (RFC 9110 field values; Node passes
 * obs-text through as latin1), or a sentinel whose payload is not canonical Base64 of valid UTF-8.
 */
export function decodeHeaderValue(header: string): string | undefined {
  if (header.startsWith(SENTINEL_PREFIX) && header.endsWith(SENTINEL_SUFFIX) && header.length >= SENTINEL_PREFIX.length + SENTINEL_SUFFIX.length) {
    const payload = header.slice(SENTINEL_PREFIX.length, header.length - SENTINEL_SUFFIX.length);
    // Buffer's decoder skips junk silently; the spec's "invalid characters → reject" needs the strict check.
    if (!CANONICAL_BASE64.test(payload)) return undefined;
    try {
      return utf8.decode(Buffer.from(payload, 'base64'));
    } catch {
      return undefined;
    }
  }
  return hasOnlyFieldChars(header) ? header : undefined;
}

/** True when `value` can travel as a header value unchanged (and would be read back unchanged). */
export function isPlainSafe(value: string): boolean {
  const n = value.length;
  if (n === 0) return false;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  // HTTP parsers strip leading and trailing whitespace, so such values would not round-trip.
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return false;
  // The spec's test is "starts with the prefix and ends with the suffix", so `=?base64?=` counts too.
  if (value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX)) return false;
  return hasOnlyFieldChars(value);
}

function hasOnlyFieldChars(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) return false;
  }
  return true;
}

/** Shortens a value for an error message, keeping messages and logs bounded. */
export function clipForMessage(value: string, max = 64): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

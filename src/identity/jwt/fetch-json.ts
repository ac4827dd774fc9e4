// Fetching what an identity provider publishes (discovery documents, key sets): bounded in time and
// size, https unless the host is loopback, and every failure a precise sentence.

/**
 * An identity provider's documents could not be had (network, timeout, HTTP status, malformed or
 * inconsistent document). Requests fail closed with 503 `unavailable`; the message names the URL
 * and the cause, never a token.
 */
export class KeySourceError extends Error {
  override readonly name = 'KeySourceError';
}

/** Largest discovery document or key set read; real ones are a few KiB. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Parses a URL keys are fetched from (or an issuer URL), refusing plain http except on loopback:
 * keys fetched in clear text could be swapped by anyone on the path. Throws an Error naming `what`.
 */
export function checkKeyUrl(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${what} "${raw}" is not a URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:') {
    if (isLoopbackHost(url.hostname)) return url;
    throw new Error(`${what} "${raw}" must use https (plain http is accepted only for loopback hosts)`);
  }
  throw new Error(`${what} "${raw}" must be an https URL`);
}

/**
 * GETs `url` and reads at most `maxBytes`. Resolves the status and, for 200, the body text; rejects
 * with a KeySourceError for network failures, timeouts and oversized bodies. Redirects are not
 * followed: a provider's documents live at their published address.
 */
export async function fetchBounded(url: string, signal: AbortSignal, timeoutMs: number, maxBytes = MAX_DOCUMENT_BYTES): Promise<{ status: number; text?: string }> {
  try {
    const res = await fetch(url, { method: 'GET', signal, redirect: 'manual', headers: { accept: 'application/json, application/jwk-set+json' } });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      return { status: res.status };
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw new KeySourceError(`${url} sent ${declared} bytes, more than the ${maxBytes} accepted`);
    }
    return { status: 200, text: await readCapped(res, url, maxBytes) };
  } catch (err) {
    if (err instanceof KeySourceError) throw err;
    if (signal.aborted || (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') {
      throw new KeySourceError(`${url} did not answer within ${timeoutMs} ms`, { cause: err });
    }
    const cause = (err as { cause?: { message?: string; code?: string } }).cause;
    throw new KeySourceError(`could not fetch ${url}: ${cause?.message ?? cause?.code ?? (err as Error).message}`, { cause: err });
  }
}

/** GETs a JSON document: 200 and a JSON value, else the HTTP status. */
export async function fetchJson(url: string, timeoutMs: number): Promise<{ status: number; json?: unknown }> {
  const { status, text } = await fetchBounded(url, AbortSignal.timeout(timeoutMs), timeoutMs);
  if (text === undefined) return { status };
  try {
    return { status, json: JSON.parse(text) as unknown };
  } catch {
    throw new KeySourceError(`${url} did not send JSON`);
  }
}

async function readCapped(res: Response, url: string, maxBytes: number): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new KeySourceError(`${url} sent more than the ${maxBytes} bytes accepted`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

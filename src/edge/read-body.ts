import type { IncomingMessage } from 'node:http';
import { GatewayFault, gatewayError, type GatewayError } from '../errors/codes.ts';

/**
 * Request-body limits for the data plane.
 *
 * Header size is not handled here: pass `maxHeaderSize: limits.maxHeaderBytes` to
 * `http.createServer()` and Node answers `431` itself (test/edge/read-body.test.ts shows it). Installing a
 * `'clientError'` listener takes that answer over: it must then write the 431 (err.code
 * `HPE_HEADER_OVERFLOW`) or the client gets nothing.
 *
 * When `readBody` rejects with `body_too_large`, the unread rest of the body is still on the socket:
 * answer with `Connection: close` so Node closes it after the 413 instead of reading (and discarding)
 * whatever the client keeps sending.
 */

const JSON_TYPE = 'application/json';
const PREALLOCATE_MAX = 64 * 1024;

/**
 * `application/json`, case-insensitive, with optional parameters; a `charset` other than UTF-8 is
 * refused because JSON on the wire is UTF-8 (RFC 8259 §8.1) and the body is decoded as such.
 */
export function checkJsonContentType(header: string | undefined): GatewayError | undefined {
  if (header === JSON_TYPE) return undefined;
  if (header === undefined || header.length === 0) {
    return gatewayError('unsupported_media_type', 'Content-Type must be application/json (header missing)');
  }
  const semi = header.indexOf(';');
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  if (type !== JSON_TYPE) {
    return gatewayError('unsupported_media_type', `Content-Type must be application/json, got '${clip(header)}'`);
  }
  if (semi !== -1) {
    for (const param of header.slice(semi + 1).split(';')) {
      const eq = param.indexOf('=');
      if (eq === -1) {
        if (param.trim().length === 0) continue;
        return gatewayError('unsupported_media_type', `malformed Content-Type parameter '${clip(param.trim())}'`);
      }
      if (param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
      const charset = param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
      if (charset !== 'utf-8' && charset !== 'utf8') {
        return gatewayError('unsupported_media_type', `JSON bodies must be UTF-8, got charset '${clip(charset)}'`);
      }
    }
  }
  return undefined;
}

/**
 * Reads the whole body, never holding more than `maxBytes`. Rejects with a `GatewayFault`:
 * `body_too_large` as soon as Content-Length or the bytes received exceed the bound (reading stops and
 * the request is paused, so TCP backpressure holds the client), `invalid_request` when the client goes
 * away before the body is complete. Other stream errors are passed through as the cause.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  let expected = -1;
  if (declared !== undefined) {
    // Node's parser has already refused malformed or duplicated Content-Length values.
    expected = Number(declared);
    if (expected > maxBytes) {
      return Promise.reject(new GatewayFault(tooLarge(maxBytes, expected)));
    }
  }
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));

  return new Promise<Buffer>((resolve, reject) => {
    // A small declared body is copied into one buffer as it arrives (no chunk list, no concat). Large
    // ones are not allocated up front: a client could declare the limit and send nothing, on many sockets.
    let whole = expected > 0 && expected <= PREALLOCATE_MAX ? Buffer.allocUnsafe(expected) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    const finish = (): void => {
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const fail = (fault: Error): void => {
      finish();
      req.pause();
      reject(fault);
    };
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      const next = received + chunk.length;
      if (next > maxBytes) {
        fail(new GatewayFault(tooLarge(maxBytes, next)));
        return;
      }
      if (whole !== undefined && next <= whole.length) {
        chunk.copy(whole, received);
      } else {
        // More than declared cannot happen with Node's parser; fall back to the chunk list if it does.
        if (whole !== undefined && received > 0) chunks.push(whole.subarray(0, received));
        whole = undefined;
        chunks.push(chunk);
      }
      received = next;
    };
    const onEnd = (): void => {
      if (settled) return;
      finish();
      if (whole !== undefined) resolve(received === whole.length ? whole : whole.subarray(0, received));
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received));
    };
    const onError = (err: Error): void => {
      if (settled) return;
      fail(new GatewayFault(gatewayError('invalid_request', 'the request body could not be read', { reason: err.message }), { cause: err }));
    };
    const onClose = (): void => {
      if (settled) return;
      fail(new GatewayFault(gatewayError('invalid_request', 'the client closed the connection before the request body was complete', { reason: 'aborted', receivedBytes: received })));
    };

    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function tooLarge(maxBytes: number, bytes: number): GatewayError {
  return gatewayError('body_too_large', `request body exceeds the limit of ${maxBytes} bytes`, { limitBytes: maxBytes, bytes });
}

function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}

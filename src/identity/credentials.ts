import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Credentials } from './method.ts';

/** Longest credential header read; anything longer is not a credential this gateway issues or accepts. */
const MAX_CREDENTIAL = 16 * 1024;

/**
 * What an HTTP request presented. Only the credential headers and the TLS peer are read; nothing
 * here is ever forwarded upstream (upstream requests are built from scratch, with the gateway's own
 * credentials).
 */
export function credentialsFromRequest(req: IncomingMessage, assertionHeader: string | undefined): Credentials {
  const socket = req.socket as Partial<TLSSocket>;
  let peer: Credentials['peerCertificate'];
  if (typeof socket.getPeerCertificate === 'function') {
    const cert = socket.getPeerCertificate();
    // Node returns an empty object when the client sent no certificate.
    if (cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0) peer = cert;
  }
  const authorization = req.headers.authorization;
  const bearer = bearerOf(authorization);
  return {
    bearer,
    ...(authorization !== undefined && bearer === undefined ? { authorizationProblem: authorizationProblem(authorization) } : {}),
    apiKey: single(req.headers['x-api-key']),
    peerCertificate: peer,
    peerAuthorized: socket.authorized === true,
    peerError: peer === undefined ? undefined : socket.authorizationError === null || socket.authorizationError === undefined ? undefined : String(socket.authorizationError),
    userAssertion: assertionHeader === undefined ? undefined : single(req.headers[assertionHeader.toLowerCase()]),
    clientAddress: req.socket.remoteAddress,
  };
}

/** stdio mode: the one credential is the token in the gateway process's environment. */
export function credentialsFromToken(token: string | undefined): Credentials {
  const t = token?.trim();
  const present = t !== undefined && t.length > 0 && t.length <= MAX_CREDENTIAL;
  return {
    bearer: present ? t : undefined,
    apiKey: undefined,
    peerCertificate: undefined,
    peerAuthorized: false,
    peerError: undefined,
    userAssertion: undefined,
    clientAddress: undefined,
  };
}

/** True when the request presented anything a method could read. */
export function presentedAny(c: Credentials): boolean {
  return c.bearer !== undefined || c.apiKey !== undefined || c.peerCertificate !== undefined;
}

function authorizationProblem(h: string): string {
  if (h.length > MAX_CREDENTIAL) return `the Authorization header is longer than ${MAX_CREDENTIAL} bytes`;
  const scheme = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)/.exec(h)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== 'bearer') return `the Authorization scheme ${scheme.slice(0, 20)} is not accepted; send "Authorization: Bearer <token>"`;
  return 'the Authorization header must be "Bearer <token>" (one token, no spaces)';
}

function bearerOf(h: string | undefined): string | undefined {
  if (h === undefined || h.length > MAX_CREDENTIAL) return undefined;
  const m = /^bearer[ \t]+([^\s]+)[ \t]*$/i.exec(h);
  return m === null ? undefined : m[1];
}

function single(v: string | string[] | undefined): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_CREDENTIAL) return undefined;
  return v.trim();
}

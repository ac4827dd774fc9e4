// The gateway's canonical URLs: the resource tokens must name as audience (RFC 8707, MCP authorization)
// and the issuer of the tokens it mints. One derivation, shared by the edge, the token service and the CLI.
import type { GatehouseConfig } from '../config/schema/root.ts';

export interface CanonicalUrls {
  /** The MCP endpoint as agents reach it: `gateway.publicUrl`, else the listen address and path. */
  readonly resource: string;
  /** `iss` of gateway-minted tokens: `auth.tokens.issuer`, else the origin of the resource. */
  readonly issuer: string;
}

// Called per request by the audience check: remember the last answer per config object.
const memo = new WeakMap<object, { port: number | undefined; urls: CanonicalUrls }>();

/**
 * `boundPort` is the port the data plane actually bound (it differs from the config when that says 0).
 * IPv6 listen hosts are written in brackets; a TLS listener makes the URL https.
 */
export function canonicalUrls(config: GatehouseConfig, boundPort?: number): CanonicalUrls {
  const hit = memo.get(config);
  if (hit !== undefined && hit.port === boundPort) return hit.urls;
  const listen = config.gateway.listen;
  const origin = `${listen.tls === undefined ? 'http' : 'https'}://${hostForUrl(listen.host)}:${boundPort ?? listen.port}`;
  const publicUrl = config.gateway.publicUrl;
  const urls: CanonicalUrls = Object.freeze({
    resource: publicUrl ?? `${origin}${listen.path}`,
    issuer: config.auth.tokens.issuer ?? (publicUrl === undefined ? origin : new URL(publicUrl).origin),
  });
  memo.set(config, { port: boundPort, urls });
  return urls;
}

/** A host as it appears in a URL authority: IPv6 literals bracketed. */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

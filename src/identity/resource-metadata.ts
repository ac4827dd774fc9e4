import type { Snapshot } from '../config/snapshot.ts';

export const METADATA_PREFIX = '/.well-known/oauth-protected-resource';

/**
 * Where the metadata of `resource` lives (RFC 9728 §3.1): the well-known prefix inserted between the
 * host and the path. A resource at the root has only the root document.
 */
export function metadataUrlOf(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return `${u.origin}${METADATA_PREFIX}${path}`;
}

/** Paths of the data plane that serve the metadata: the endpoint-specific one and the root one. */
export function isMetadataPath(path: string, endpointPath: string): boolean {
  return path === METADATA_PREFIX || path === `${METADATA_PREFIX}${endpointPath === '/' ? '' : endpointPath}`;
}

/** Scopes the data plane's methods require: the challenge's `scope` guidance and the default `scopes_supported`. */
export function requiredScopes(snap: Snapshot): string[] {
  const listed = new Set(snap.config.gateway.listen.auth);
  const out = new Set<string>();
  for (const m of snap.config.auth.methods) if (m.type === 'jwt' && listed.has(m.name)) for (const s of m.requiredScopes) out.add(s);
  return [...out];
}

/**
 * The protected resource metadata document (RFC 9728 §2) of the data plane. `resource` is the
 * gateway's canonical URL: the audience tokens must carry. The authorization servers are the issuers
 * agents get tokens from, never the upstreams' (their credentials are the gateway's business).
 */
export function resourceMetadata(snap: Snapshot, resource: string): Record<string, unknown> {
  const rm = snap.config.auth.resourceMetadata;
  const listed = new Set(snap.config.gateway.listen.auth);
  const issuers = rm.authorizationServers.length > 0 ? rm.authorizationServers : [...new Set(snap.config.auth.methods.filter((m) => m.type === 'jwt' && listed.has(m.name)).map((m) => (m.type === 'jwt' ? m.issuer : '')))];
  const scopes = rm.scopesSupported.length > 0 ? rm.scopesSupported : requiredScopes(snap);
  const doc: Record<string, unknown> = { resource, bearer_methods_supported: ['header'] };
  if (issuers.length > 0) doc.authorization_servers = issuers;
  if (scopes.length > 0) doc.scopes_supported = scopes;
  if (rm.resourceName !== undefined) doc.resource_name = rm.resourceName;
  if (rm.resourceDocumentation !== undefined) doc.resource_documentation = rm.resourceDocumentation;
  return doc;
}

import type { ListenerAuth } from './authenticator.ts';
import type { AuthFailure } from './method.ts';

/**
 * The `WWW-Authenticate` value of a refused request (RFC 6750 §3, RFC 9728 §5.1, MCP authorization):
 * a request without credentials gets the bare challenge with `resource_metadata` (and `scope` when
 * there is guidance to give); a bad token adds `error="invalid_token"`; a valid token short of scope
 * gets `error="insufficient_scope"` with the scopes the operation needs. Listeners without bearer
 * methods (client certificates only) have no challenge to make.
 */
export function challengeFor(l: ListenerAuth, f: AuthFailure, opts: { metadataUrl: string | undefined; scopes: readonly string[]; realm?: string }): string | undefined {
  if (!l.bearer || f.reason === 'unavailable') return undefined;
  const params: string[] = [];
  if (opts.realm !== undefined) params.push(`realm=${quote(opts.realm)}`);
  if (f.reason === 'invalid_token') params.push('error="invalid_token"', `error_description=${quote(f.message)}`);
  if (f.reason === 'insufficient_scope') params.push('error="insufficient_scope"');
  const scopes = f.reason === 'insufficient_scope' ? (f.scopes ?? []) : opts.scopes;
  if (scopes.length > 0) params.push(`scope=${quote(scopes.join(' '))}`);
  if (opts.metadataUrl !== undefined) params.push(`resource_metadata=${quote(opts.metadataUrl)}`);
  if (f.reason === 'insufficient_scope') params.push(`error_description=${quote(f.message)}`);
  return params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`;
}

/**
 * An RFC 9110 quoted-string. RFC 6750 limits error_description to printable ASCII without `"` and
 * `\`: anything else is replaced rather than escaped, so no client parser can be confused.
 */
function quote(s: string): string {
  let out = '';
  for (const ch of s.slice(0, 300)) {
    const c = ch.charCodeAt(0);
    out += c >= 0x20 && c <= 0x7e && ch !== '"' && ch !== '\\' ? ch : c === 0x22 ? "'" : '?';
  }
  return `"${out}"`;
}

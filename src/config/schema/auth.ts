import { z } from 'zod';
import { identifier } from './common.ts';

/** A claim name, or a dotted path into nested claims (`realm_access.roles`); an exact claim name wins over a path. */
const claimRef = z.string().min(1);
const claimList = (d: string[], what: string) => z.array(claimRef).min(1).default(d).describe(`${what} The first claim present wins.`);

export const claimsSchema = z
  .strictObject({
    agent: claimList(['act.sub', 'client_id', 'azp', 'sub'], 'Claims naming the agent (the OAuth client or workload). `act.sub` first: with RFC 8693 delegation the actor is the agent and `sub` the user it acts for.'),
    agentName: claimList(['client_name'], 'Claims holding a display name for the agent (not OIDC `name`: that is the end user\'s).'),
    user: claimList(['sub'], 'Claims naming the human or workflow behind the agent. Left unset when it equals the agent (client-credentials tokens).'),
    tenant: claimList(['tenant', 'tid', 'org_id'], 'Claims naming the tenant.'),
    roles: claimList(['roles', 'realm_access.roles'], 'Claims holding roles (an array, or a space- or comma-separated string).'),
    groups: claimList(['groups'], 'Claims holding groups.'),
    scopes: claimList(['scope', 'scp'], 'Claims holding granted scopes (`scope`: space-separated string; `scp`: array).'),
    attributes: z.array(claimRef).default([]).describe('Further claims copied onto the principal for policy conditions.'),
  })
  .describe('How token claims become the principal.');

const methodBase = {
  name: identifier.describe('Name listeners use to enable this method; also recorded on every exchange it authenticates.'),
};

export const apiKeyMethodSchema = z
  .strictObject({
    ...methodBase,
    type: z.literal('api_key'),
    kind: z.enum(['agent', 'admin']).default('agent').describe('Which keys this method accepts: agent keys (data plane) or admin keys (admin listener). A key of the other kind is refused.'),
  })
  .describe('Gateway-issued API keys (`gatehouse keys create`), sent as `Authorization: Bearer ghk_…` or `X-API-Key: ghk_…`. Stored only as a hash.');

export const jwtMethodSchema = z
  .strictObject({
    ...methodBase,
    type: z.literal('jwt'),
    issuer: z.url().describe('Expected `iss`. Tokens from other issuers are left to the next method.'),
    jwksUrl: z.url().optional().describe('Where the signing keys are. Unset: found through OpenID Connect discovery (`<issuer>/.well-known/openid-configuration`, then RFC 8414 `oauth-authorization-server`).'),
    audience: z.array(z.string().min(1)).default([]).describe('Accepted `aud` values. Empty: the gateway\'s canonical URL (`gateway.publicUrl`), as the MCP authorization spec asks (RFC 8707).'),
    algorithms: z
      .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
      .min(1)
      .default(['RS256', 'PS256', 'ES256', 'EdDSA'])
      .describe('Accepted signature algorithms. `none` and shared-secret (HS*) algorithms are never accepted.'),
    clockSkewSeconds: z.number().int().min(0).max(600).default(60).describe('Tolerance for `exp`, `nbf` and `iat`.'),
    maxTokenAgeSeconds: z.number().int().positive().optional().describe('Refuse tokens issued (`iat`) longer ago than this.'),
    requiredScopes: z.array(z.string().min(1)).default([]).describe('Scopes every token must carry; a valid token without them gets 403 `insufficient_scope`.'),
    claims: claimsSchema.prefault({}),
    jwks: z
      .strictObject({
        cacheSeconds: z.number().int().min(1).default(600).describe('How long fetched keys are used before they are fetched again.'),
        cooldownSeconds: z.number().int().min(0).default(30).describe('Least time between two fetches caused by an unknown `kid` (key rotation), so unknown kids cannot make the gateway hammer the identity provider.'),
        timeoutMs: z.number().int().positive().default(5_000).describe('Longest a key set or discovery fetch may take; past it the request fails closed (503).'),
      })
      .prefault({})
      .describe('Fetching the issuer\'s signing keys.'),
  })
  .describe('JWT access tokens from an OAuth 2.1 / OpenID Connect identity provider, sent as `Authorization: Bearer`.');

export const gatewayTokenMethodSchema = z
  .strictObject({
    ...methodBase,
    type: z.literal('gateway_token'),
  })
  .describe('Short-lived JWTs the gateway signs itself (`gatehouse token mint`, admin API), verified with the gateway\'s own keys.');

export const mtlsMethodSchema = z
  .strictObject({
    ...methodBase,
    type: z.literal('mtls'),
    from: z.enum(['uri-san', 'dns-san', 'email-san', 'cn']).default('uri-san').describe('Which certificate field names the agent. SPIFFE IDs are URI SANs.'),
    trustDomains: z.array(z.string().min(1)).default([]).describe('SPIFFE trust domains accepted (`spiffe://<domain>/…`). When set, only URI SANs with these domains are read, and the agent defaults to the ID\'s path.'),
    pattern: z
      .string()
      .optional()
      .describe('Regular expression over the chosen field; its named groups `agent`, `tenant` and `user` fill the principal (e.g. `^spiffe://prod\\.example\\.org/tenant/(?<tenant>[^/]+)/agent/(?<agent>[^/]+)$`). A certificate whose field does not match is refused.'),
    tenant: z.string().optional().describe('Tenant of every certificate this method accepts, unless the pattern names one.'),
    roles: z.array(z.string().min(1)).default([]).describe('Roles given to every certificate this method accepts.'),
  })
  .describe('TLS client certificates, verified against `gateway.listen.tls.clientCa`.');

export const anonymousMethodSchema = z
  .strictObject({
    ...methodBase,
    type: z.literal('anonymous'),
    agent: z.string().min(1).default('anonymous').describe('Agent name recorded for every request this method admits.'),
    tenant: z.string().optional().describe('Tenant recorded for them.'),
    roles: z.array(z.string().min(1)).default([]).describe('Roles they get.'),
  })
  .describe('No credential at all. Admits every request that reaches it: enable it only where that is meant (local stdio mode, a trial on loopback).');

export const authMethodSchema = z
  .discriminatedUnion('type', [apiKeyMethodSchema, jwtMethodSchema, gatewayTokenMethodSchema, mtlsMethodSchema, anonymousMethodSchema])
  .describe('One way to authenticate.');

export const tokensSchema = z
  .strictObject({
    issuer: z.url().optional().describe('`iss` of gateway-minted tokens. Default: the origin of `gateway.publicUrl`.'),
    defaultTtlSeconds: z.number().int().min(10).default(900).describe('Lifetime of a minted token when the request names none.'),
    maxTtlSeconds: z.number().int().min(10).default(86_400).describe('Longest lifetime a minted token may have. Retired signing keys stay published this long.'),
    algorithm: z.enum(['EdDSA', 'ES256']).default('EdDSA').describe('Signature algorithm of new signing keys.'),
  })
  .describe('Short-lived tokens the gateway issues (`gatehouse token mint`).');

export const resourceMetadataSchema = z
  .strictObject({
    authorizationServers: z.array(z.url()).default([]).describe('`authorization_servers` of the protected resource metadata. Default: the issuers of the listener\'s JWT methods.'),
    scopesSupported: z.array(z.string().min(1)).default([]).describe('`scopes_supported`. Default: the scopes the listener\'s methods require.'),
    resourceName: z.string().optional().describe('`resource_name`: a human-readable name of the gateway.'),
    resourceDocumentation: z.url().optional().describe('`resource_documentation`: where people read how to get access.'),
  })
  .describe('RFC 9728 protected resource metadata served at `/.well-known/oauth-protected-resource` (root and endpoint path).');

export const authSchema = z
  .strictObject({
    methods: z.array(authMethodSchema).default([]).describe('Authentication methods, defined once; each listener lists the ones it uses, in the order they are tried.'),
    tokens: tokensSchema.prefault({}),
    resourceMetadata: resourceMetadataSchema.prefault({}),
  })
  .describe('How agents and admins prove who they are. Agents authenticate to the gateway only: no credential of theirs ever reaches an upstream.');

export type AuthMethodConfig = z.infer<typeof authMethodSchema>;
export type JwtMethodConfig = z.infer<typeof jwtMethodSchema>;
export type MtlsMethodConfig = z.infer<typeof mtlsMethodSchema>;
export type ApiKeyMethodConfig = z.infer<typeof apiKeyMethodSchema>;
export type AnonymousMethodConfig = z.infer<typeof anonymousMethodSchema>;
export type ClaimsConfig = z.infer<typeof claimsSchema>;
export type TokensConfig = z.infer<typeof tokensSchema>;

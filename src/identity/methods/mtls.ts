import type { PeerCertificate } from 'node:tls';
import type { MtlsMethodConfig } from '../../config/schema/auth.ts';
import { makePrincipal } from '../../pipeline/principal.ts';
import type { AuthFailure, AuthMethod, AuthResult, Credentials, AuthEnv } from '../method.ts';

/** A config value this method cannot use; `path` is relative to the method's entry in `auth.methods`. */
export class MtlsConfigError extends Error {
  readonly path: readonly (string | number)[];
  constructor(path: readonly (string | number)[], message: string) {
    super(message);
    this.name = 'MtlsConfigError';
    this.path = path;
  }
}

type Field = MtlsMethodConfig['from'];
const LABEL: Record<Field, string> = { 'uri-san': 'URI SAN', 'dns-san': 'DNS SAN', 'email-san': 'email SAN', cn: 'subject CN' };
const SAN_TYPE: Record<Exclude<Field, 'cn'>, string> = { 'uri-san': 'URI', 'dns-san': 'DNS', 'email-san': 'email' };
const GROUPS = new Set(['agent', 'tenant', 'user']);
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;
// What a value must look like to name an agent: it ends up in logs, audit records and policy, so a SAN
// a CA should never have issued (a "DNS name" with a comma, a control character) is refused, not read.
// SAN values are IA5Strings (ASCII); a CN may be UTF-8.
const NAME_SYNTAX: Record<Field, { re: RegExp; what: string }> = {
  'dns-san': { re: /^(?=[^]{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/, what: 'a DNS name (wildcards name no single agent)' },
  'uri-san': { re: /^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/, what: 'a URI' },
  'email-san': { re: /^(?:(?![@",<>\\])[\x21-\x7e])+@(?:(?![@",<>\\])[\x21-\x7e])+$/, what: 'an email address' },
  cn: { re: /^[^\u0000-\u001f\u007f]+$/, what: 'a name without control characters' },
};

interface Candidate {
  readonly value: string;
  /** The path of a SPIFFE ID read in trust-domain mode: the default agent. */
  readonly spiffePath?: string;
}

/** Authenticates TLS client certificates (the listener verified the chain; this reads the identity). */
export function createMtlsMethod(cfg: MtlsMethodConfig): AuthMethod {
  const pattern = compilePattern(cfg);
  cfg.trustDomains.forEach((d, i) => {
    if (d.startsWith('spiffe://')) throw new MtlsConfigError(['trustDomains', i], `trust domain ${JSON.stringify(d)} must be the bare domain name (${d.slice(9).split('/')[0]}), without spiffe:// or a path`);
    if (!TRUST_DOMAIN.test(d) || d.length > 255) throw new MtlsConfigError(['trustDomains', i], `trust domain ${JSON.stringify(d)} is not a SPIFFE trust domain name: lowercase letters, digits, ".", "-" and "_" only`);
  });
  if (cfg.trustDomains.length > 0 && cfg.from !== 'uri-san') throw new MtlsConfigError(['trustDomains'], `trustDomains reads SPIFFE IDs, which are URI SANs: it needs from: uri-san, not ${cfg.from}`);
  const trust = new Set(cfg.trustDomains);
  const label = LABEL[cfg.from];

  const identify = (cert: PeerCertificate, now: number): AuthResult => {
    const validTo = Date.parse(cert.valid_to);
    const validFrom = Date.parse(cert.valid_from);
    // The handshake checked the dates, but a keep-alive connection outlives it.
    if (now > validTo) return fail(`client certificate expired at ${new Date(validTo).toISOString()}`);
    if (now < validFrom) return fail(`client certificate is not valid before ${new Date(validFrom).toISOString()}`);
    const read = readField(cert, cfg.from);
    if (typeof read === 'string') return fail(read);
    let candidates: Candidate[] = read.map((value) => ({ value }));
    if (trust.size > 0) {
      // An X.509-SVID is a leaf with exactly one URI SAN; other URIs are not SPIFFE IDs and do not count.
      if (cert.ca) return fail('client certificate is a CA certificate, which cannot be an X.509-SVID');
      const ids = distinct(read.filter((v) => /^spiffe:/i.test(v)));
      const expected = `one in trust domain ${[...trust].join(' or ')}`;
      if (ids.length === 0) return fail(`client certificate has no SPIFFE ID (URI SAN spiffe://…); expected ${expected}`);
      if (ids.length > 1) return fail(`client certificate has ${ids.length} SPIFFE IDs (${list(ids)}); an X.509-SVID carries exactly one`);
      const id = parseSpiffeId(ids[0]!);
      if (typeof id === 'string') return fail(`malformed SPIFFE ID ${JSON.stringify(ids[0])}: ${id}`);
      if (!trust.has(id.domain)) return fail(`SPIFFE ID trust domain ${id.domain} is not trusted; expected ${expected}`);
      candidates = [{ value: ids[0]!, spiffePath: id.path }];
    } else if (cfg.from === 'uri-san') {
      for (const v of read) {
        if (!/^spiffe:/i.test(v)) continue;
        const id = parseSpiffeId(v);
        if (typeof id === 'string') return fail(`malformed SPIFFE ID ${JSON.stringify(v)}: ${id}`);
      }
    }
    if (candidates.length === 0) return fail(`client certificate has no ${label}; this method reads the agent from it`);
    const syntax = NAME_SYNTAX[cfg.from];
    const bad = candidates.find((c) => !syntax.re.test(c.value));
    if (bad !== undefined) return fail(`client certificate ${label} ${list([bad.value])} is not ${syntax.what}`);

    const matches: { c: Candidate; agent: string; tenant: string | undefined; user: string | undefined }[] = [];
    for (const c of candidates) {
      let groups: Record<string, string | undefined> = {};
      if (pattern !== undefined) {
        const m = pattern.exec(c.value);
        if (m === null) continue;
        groups = m.groups ?? {};
      }
      const agent = nonEmpty(groups['agent']) ?? c.spiffePath?.slice(1) ?? c.value;
      const tenant = nonEmpty(groups['tenant']) ?? cfg.tenant;
      const user = nonEmpty(groups['user']);
      if (!matches.some((x) => x.agent === agent && x.tenant === tenant && x.user === user)) matches.push({ c, agent, tenant, user });
    }
    if (matches.length === 0) return fail(`client certificate ${label} ${list(candidates.map((c) => c.value))} does not match the expected pattern ${pattern!.source}`);
    if (matches.length > 1) return fail(`client certificate has ${matches.length} ${label} values naming different identities (${list(matches.map((x) => x.c.value))}); refusing to choose one`);
    const { c, agent, tenant, user } = matches[0]!;
    const subject = subjectString(cert.subject);
    const spiffeId = /^spiffe:\/\//.test(c.value) ? c.value : undefined;
    return {
      kind: 'ok',
      principal: makePrincipal({
        authMethod: 'mtls',
        authSource: cfg.name,
        agent,
        ...(tenant !== undefined ? { tenant } : {}),
        ...(user !== undefined ? { user, userSource: 'credential' as const } : {}),
        roles: cfg.roles,
        credentialId: `sha256:${cert.fingerprint256.replaceAll(':', '').toLowerCase()}`,
        ...(Number.isFinite(validTo) ? { expiresAt: validTo } : {}),
        attributes: Object.freeze({ ...(subject !== undefined ? { certificateSubject: subject } : {}), ...(spiffeId !== undefined ? { spiffeId } : {}) }),
      }),
    };
  };

  return {
    name: cfg.name,
    type: 'mtls',
    bearer: false,
    authenticate(c: Credentials, env: AuthEnv): AuthResult {
      const cert = c.peerCertificate;
      // Node gives an empty object, not undefined, when the client sent no certificate.
      if (cert === undefined || cert === null || Object.keys(cert).length === 0) return { kind: 'skip', why: 'no client certificate was presented' };
      if (!c.peerAuthorized) return fail(`client certificate not trusted: ${c.peerError ?? 'it was not verified against the client CA'}`);
      if (typeof cert.fingerprint256 !== 'string' || cert.fingerprint256 === '') return fail('client certificate could not be read (no fingerprint)');
      return identify(cert, env.now());
    },
  };
}

function compilePattern(cfg: MtlsMethodConfig): RegExp | undefined {
  if (cfg.pattern === undefined) return undefined;
  let re: RegExp;
  try {
    re = new RegExp(cfg.pattern);
  } catch (err) {
    throw new MtlsConfigError(['pattern'], `pattern is not a valid regular expression: ${(err as Error).message}`);
  }
  // An alternative that always matches the empty string reveals every named group of the pattern.
  const names = Object.keys(new RegExp(`(?:${cfg.pattern})|`).exec('')?.groups ?? {});
  const unknown = names.filter((n) => !GROUPS.has(n));
  if (unknown.length > 0) throw new MtlsConfigError(['pattern'], `pattern names group(s) ${unknown.join(', ')}; only agent, tenant and user are read (use (?:…) for grouping)`);
  if (!names.includes('agent') && cfg.trustDomains.length === 0) {
    throw new MtlsConfigError(['pattern'], 'pattern has no (?<agent>…) group; name the agent with one, or set trustDomains so the agent is the SPIFFE ID\'s path');
  }
  return re;
}

/** The values of the configured field, or why they cannot be read. */
function readField(cert: PeerCertificate, from: Field): string[] | string {
  let values: string[];
  if (from === 'cn') {
    const cn: unknown = cert.subject?.CN;
    values = typeof cn === 'string' ? [cn] : Array.isArray(cn) ? cn.filter((v): v is string => typeof v === 'string') : [];
  } else {
    const names = cert.subjectaltname === undefined ? [] : parseSubjectAltName(cert.subjectaltname);
    if (names === undefined) return 'client certificate subjectAltName could not be read';
    values = names.filter((n) => n.type === SAN_TYPE[from]).map((n) => n.value);
  }
  return values;
}

const JSON_STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/**
 * Splits Node's `subjectaltname` string: entries `TYPE:value` joined by ", ". Since Node 17.3.1/16.13.2
 * (CVE-2021-44532) a value holding `,` `"` `\` `'`, a control or a non-ASCII byte is written as a JSON
 * string literal after the prefix (`DNS:"a\u002c URI:spiffe://x"`), so a crafted name cannot pose as a
 * second entry. `undefined` when the string is not in that format.
 */
export function parseSubjectAltName(s: string): { type: string; value: string }[] | undefined {
  const out: { type: string; value: string }[] = [];
  let i = 0;
  while (i < s.length) {
    const colon = s.indexOf(':', i);
    if (colon < 0) return undefined;
    const type = s.slice(i, colon);
    if (/[,"]/.test(type)) return undefined;
    let value = '';
    let j = colon + 1;
    while (j < s.length && s[j] !== ',') {
      if (s[j] === '"') {
        JSON_STRING.lastIndex = j;
        const m = JSON_STRING.exec(s);
        if (m === null) return undefined;
        value += JSON.parse(m[0]) as string;
        j += m[0].length;
      } else {
        let k = j;
        while (k < s.length && s[k] !== ',' && s[k] !== '"') k++;
        value += s.slice(j, k);
        j = k;
      }
    }
    out.push({ type, value });
    if (j < s.length) {
      if (s[j + 1] !== ' ' || j + 2 >= s.length) return undefined;
      j += 2;
    }
    i = j;
  }
  return out;
}

/** Checks a SPIFFE ID as the SPIFFE-ID standard (§2) defines it; returns its parts or why it is not one. */
export function parseSpiffeId(id: string): { domain: string; path: string } | string {
  if (!id.startsWith('spiffe://')) return 'the scheme must be spiffe:// in lowercase';
  if (/[?#]/.test(id)) return 'a SPIFFE ID has no query or fragment';
  const rest = id.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const domain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (domain === '') return 'the trust domain is missing';
  if (/[@:]/.test(domain)) return 'the trust domain has no user info or port';
  if (!TRUST_DOMAIN.test(domain)) return 'the trust domain may contain only lowercase letters, digits, ".", "-" and "_"';
  if (domain.length > 255) return 'the trust domain is longer than 255 characters';
  if (path === '') return 'the path is empty (a trust domain ID names no workload)';
  for (const seg of path.slice(1).split('/')) {
    if (seg === '') return 'the path has an empty segment or a trailing slash';
    if (seg === '.' || seg === '..') return 'the path has a "." or ".." segment';
    if (!PATH_SEGMENT.test(seg)) return 'path segments may contain only letters, digits, ".", "-" and "_" (no percent-encoding)';
  }
  if (id.length > 2048) return 'longer than 2048 bytes';
  return { domain, path };
}

/** RFC 4514 form (most specific RDN first) of Node's subject object; `undefined` when it is empty. */
function subjectString(subject: PeerCertificate['subject'] | undefined): string | undefined {
  if (subject === undefined || subject === null) return undefined;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(subject as Record<string, unknown>)) {
    for (const one of Array.isArray(v) ? v : [v]) {
      if (typeof one === 'string') parts.push(`${k}=${one.replace(/[,+"\\<>;]/g, '\\$&').replace(/^[ #]/, '\\$&').replace(/ $/, '\\ ')}`);
    }
  }
  return parts.length === 0 ? undefined : parts.reverse().join(',');
}

function fail(message: string): { kind: 'fail'; failure: AuthFailure } {
  return { kind: 'fail', failure: { reason: 'invalid_token', message } };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** A few values for an error message, each shortened: certificates can carry many long names. */
function list(values: readonly string[]): string {
  const all = distinct(values);
  const shown = all.slice(0, 3).map((v) => JSON.stringify(v.length > 120 ? `${v.slice(0, 120)}…` : v));
  return all.length > 3 ? `${shown.join(', ')} and ${all.length - 3} more` : shown.join(', ');
}

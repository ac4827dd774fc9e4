import { isIP } from 'node:net';

/**
 * Origin and Host checks for the data plane (MCP: servers MUST validate Origin; DNS-rebinding defence).
 *
 * Origin: absent → allowed (non-browser clients send none); `null` → refused; otherwise allowed when it
 * equals a configured origin after normalisation (lowercase, default port dropped) or, when the data
 * plane listens on loopback, when it is `http(s)://localhost|127.0.0.1|[::1]` on any port.
 *
 * Host: required, and must name the listen address and port, a configured allowed host, or (listening on
 * loopback or on a wildcard address) localhost/127.0.0.1/[::1] with the listen port. A wildcard listen
 * (0.0.0.0, ::) accepts only those plus `allowedHosts`; the machine's own interface addresses are not
 * guessed. `allowedHosts: ['*']` accepts any well-formed Host (use it only behind a proxy that checks
 * Host itself). An allowed host given without a port matches that name on any port: DNS rebinding is
 * defeated by the name, and reverse proxies rarely keep the port. IPv6 literals are written in
 * brackets; request Hosts must use the canonical (compressed, lowercase) form browsers send.
 *
 * `listenPort` should be the bound port (`server.address().port`); 0 means "not known" and accepts any
 * port on the listen/loopback names.
 */
export interface HostGuardOptions {
  readonly listenHost: string;
  readonly listenPort: number;
  readonly allowedOrigins: readonly string[];
  readonly allowedHosts: readonly string[];
}

export interface HostGuard {
  checkOrigin(origin: string | undefined): boolean;
  checkHost(host: string | undefined): boolean;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'] as const;
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]', '']);
// scheme://host[:port] and nothing else: no userinfo, path, query or fragment.
const ORIGIN_SHAPE = /^([a-z][a-z0-9+.-]*):\/\/([a-z0-9._~-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;
const HOST_SHAPE = /^([a-z0-9._~-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443', ws: '80', wss: '443' };

export function compileHostGuard(options: HostGuardOptions): HostGuard {
  const listenName = canonicalHostName(options.listenHost);
  const loopback = isLoopbackName(listenName);
  const wildcard = WILDCARD_ADDRESSES.has(listenName);
  const portKnown = options.listenPort !== 0;
  const listenPort = String(options.listenPort);

  const origins = new Set<string>();
  for (const [i, raw] of options.allowedOrigins.entries()) {
    const normalised = normaliseOrigin(raw.trim().replace(/\/$/, ''));
    if (normalised === undefined) throw new Error(`allowedOrigins[${i}]: '${raw}' is not an origin (scheme://host[:port])`);
    origins.add(normalised);
  }

  // Hosts bound to a port are kept as exact `name:port` strings (one Set lookup per request);
  // names allowed on any port are kept apart.
  const exactHosts = new Set<string>();
  const anyPortNames = new Set<string>();
  let anyHost = false;
  const addListenName = (name: string): void => {
    if (portKnown) {
      exactHosts.add(`${name}:${listenPort}`);
      if (options.listenPort === 80) exactHosts.add(name);
    } else {
      anyPortNames.add(name);
    }
  };
  if (!wildcard) addListenName(listenName);
  if (loopback || wildcard) for (const name of LOOPBACK_NAMES) addListenName(name);
  for (const [i, raw] of options.allowedHosts.entries()) {
    if (raw === '*') {
      anyHost = true;
      continue;
    }
    const parsed = parseHost(raw.trim().toLowerCase());
    if (parsed === undefined) throw new Error(`allowedHosts[${i}]: '${raw}' is not a host[:port]`);
    const name = canonicalHostName(parsed.name);
    if (parsed.port === undefined) anyPortNames.add(name);
    else exactHosts.add(`${name}:${parsed.port}`);
  }

  return {
    checkOrigin(origin) {
      if (origin === undefined) return true;
      if (origins.has(origin)) return true;
      const normalised = normaliseOrigin(origin);
      if (normalised === undefined) return false;
      if (origins.has(normalised)) return true;
      return loopback && isLoopbackOrigin(normalised);
    },
    checkHost(host) {
      if (host === undefined || host.length === 0) return false;
      if (exactHosts.has(host)) return true;
      const lower = host.toLowerCase();
      const parsed = parseHost(lower);
      if (parsed === undefined) return false;
      if (anyHost) return true;
      if (anyPortNames.has(parsed.name)) return true;
      // A Host without a port means the scheme's default; only the exact form can match it.
      return parsed.port !== undefined && exactHosts.has(`${parsed.name}:${parsed.port}`);
    },
  };
}

/** `scheme://host[:port]` lowercased with the default port dropped, or undefined when not an origin. */
export function normaliseOrigin(origin: string): string | undefined {
  const m = ORIGIN_SHAPE.exec(origin.toLowerCase());
  if (m === null) return undefined;
  const scheme = m[1] as string;
  const name = m[2] as string;
  const port = m[3];
  if (port !== undefined && !validPort(port)) return undefined;
  if (name.startsWith('[') && isIP(name.slice(1, -1)) !== 6) return undefined;
  if (port === undefined || DEFAULT_PORTS[scheme] === String(Number(port))) return `${scheme}://${name}`;
  return `${scheme}://${name}:${Number(port)}`;
}

function isLoopbackOrigin(normalised: string): boolean {
  const m = ORIGIN_SHAPE.exec(normalised);
  if (m === null) return false;
  const scheme = m[1];
  return (scheme === 'http' || scheme === 'https') && (LOOPBACK_NAMES as readonly string[]).includes(m[2] as string);
}

function parseHost(lower: string): { name: string; port: string | undefined } | undefined {
  const m = HOST_SHAPE.exec(lower);
  if (m === null) return undefined;
  const name = m[1] as string;
  const port = m[2];
  if (port !== undefined && !validPort(port)) return undefined;
  if (name.startsWith('[') && isIP(name.slice(1, -1)) !== 6) return undefined;
  return { name, port: port === undefined ? undefined : String(Number(port)) };
}

function validPort(port: string): boolean {
  const n = Number(port);
  return n >= 1 && n <= 65535;
}

/** Config-side names: IPv6 literals bracketed and compressed the way browsers serialise them. */
function canonicalHostName(host: string): string {
  const lower = host.trim().toLowerCase();
  const bare = lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
  if (isIP(bare) === 6) return new URL(`http://[${bare}]/`).hostname;
  return lower;
}

function isLoopbackName(name: string): boolean {
  if (name === 'localhost' || name === '[::1]') return true;
  return isIP(name) === 4 && name.startsWith('127.');
}

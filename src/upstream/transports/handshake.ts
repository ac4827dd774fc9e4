// Era detection and the handshake, as the 2026-07-28 backward-compatibility sections describe it:
// probe with `server/discover`; a DiscoverResult or a recognised modern error means modern, anything
// else (another error, a 4xx without a modern body, silence on stdio) means legacy: `initialize`.
import type { JsonRpcErrorObject, JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import { LEGACY_VERSIONS, META_SERVER_INFO, MODERN_VERSION, type Era } from '../../protocol/mcp.ts';
import { GatewayFault, gatewayError } from '../../errors/codes.ts';
import type { HopMeta } from './hop-meta.ts';

/** What a session exposes to the handshake. */
export interface HandshakeHost {
  readonly name: string;
  era: Era;
  protocolVersion: string;
  serverInfo: { name: string; version: string } | undefined;
  capabilities: Record<string, unknown>;
  instructions: string | undefined;
  readonly hop: HopMeta;
  readonly clientInfo: { name: string; version: string };
  readonly clientCapabilities: Record<string, unknown>;
  handshakeRequest(method: string, params: Record<string, unknown>, timeoutMs: number, signal?: AbortSignal): Promise<JsonRpcResponse>;
  notify(method: string, params?: Record<string, unknown>): Promise<void>;
  /** Forget per-session wire state (an HTTP session id) before a fresh `initialize`. */
  beginLegacy(): void;
  /** Runs after `notifications/initialized` (the HTTP GET stream opens here). */
  afterLegacyInit(): void;
}

export interface HandshakePlan {
  mode: 'auto' | 'modern' | 'legacy';
  knownEra: Era | undefined;
  /** How long silence on the auto probe means "legacy" (stdio); HTTP always answers, so it gets the budget. */
  probeTimeoutMs: number;
  deadline: number;
  signal: AbortSignal;
}

type Probe =
  | { kind: 'modern'; result: Record<string, unknown> }
  | { kind: 'legacy'; why: string; silent: boolean }
  | { kind: 'fail'; err: unknown };

const MODERN_ERROR_CODES = new Set([-32020, -32021, -32022]);
const SPOKEN = `the gateway speaks ${MODERN_VERSION} and ${LEGACY_VERSIONS.join(', ')}`;

function remaining(plan: HandshakePlan): number {
  return Math.max(1, plan.deadline - Date.now());
}

function protocolFault(host: HandshakeHost, message: string, detail?: Record<string, unknown>): GatewayFault {
  return new GatewayFault(gatewayError('upstream_protocol_error', `upstream "${host.name}": ${message}`, { upstream: host.name, ...detail }));
}

function classifyError(host: HandshakeHost, e: JsonRpcErrorObject): Probe {
  if (!MODERN_ERROR_CODES.has(e.code)) return { kind: 'legacy', why: `server/discover answered ${e.code} ${e.message}`, silent: false };
  if (e.code === -32022) {
    const data = e.data as { supported?: unknown } | undefined;
    const supported = Array.isArray(data?.supported) ? data.supported.filter((v): v is string => typeof v === 'string') : [];
    if (supported.some((v) => (LEGACY_VERSIONS as readonly string[]).includes(v))) {
      return { kind: 'legacy', why: `modern server supports only ${supported.join(', ')}`, silent: false };
    }
    return { kind: 'fail', err: protocolFault(host, `supports protocol versions ${supported.join(', ') || '(none listed)'}; ${SPOKEN}`, { supported }) };
  }
  return { kind: 'fail', err: protocolFault(host, `rejected the gateway's modern request: ${e.code} ${e.message}`, { jsonrpcError: e }) };
}

async function probe(host: HandshakeHost, plan: HandshakePlan, timeoutMs: number): Promise<Probe> {
  host.era = 'modern';
  let res: JsonRpcResponse;
  try {
    res = await host.handshakeRequest('server/discover', { _meta: host.hop }, timeoutMs, plan.signal);
  } catch (err) {
    if (plan.signal.aborted || !(err instanceof GatewayFault)) return { kind: 'fail', err };
    const detail = err.error.detail ?? {};
    if (err.error.name === 'upstream_timeout') return { kind: 'legacy', why: `no answer to server/discover within ${timeoutMs} ms`, silent: true };
    const status = detail.httpStatus;
    if (typeof status === 'number' && status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 407 && status !== 429) {
      const body = detail.jsonrpcError as JsonRpcErrorObject | undefined;
      if (body !== undefined && MODERN_ERROR_CODES.has(body.code)) return classifyError(host, body);
      return { kind: 'legacy', why: `server/discover got HTTP ${status}`, silent: false };
    }
    return { kind: 'fail', err };
  }
  if ('error' in res) return classifyError(host, res.error);
  const versions = res.result.supportedVersions;
  if (!Array.isArray(versions)) return { kind: 'legacy', why: 'server/discover answer is not a DiscoverResult', silent: false };
  if (versions.includes(MODERN_VERSION)) return { kind: 'modern', result: res.result };
  if (versions.some((v) => (LEGACY_VERSIONS as readonly unknown[]).includes(v))) return { kind: 'legacy', why: `server/discover lists only ${versions.join(', ')}`, silent: false };
  return { kind: 'fail', err: protocolFault(host, `supports protocol versions ${versions.join(', ')}; ${SPOKEN}`) };
}

function adoptModern(host: HandshakeHost, result: Record<string, unknown>): void {
  host.era = 'modern';
  host.protocolVersion = MODERN_VERSION;
  host.capabilities = isObject(result.capabilities) ? result.capabilities : {};
  host.instructions = typeof result.instructions === 'string' ? result.instructions : undefined;
  const meta = result._meta;
  host.serverInfo = isObject(meta) ? implementation(meta[META_SERVER_INFO]) : undefined;
}

async function initialize(host: HandshakeHost, plan: HandshakePlan): Promise<void> {
  host.era = 'legacy';
  host.beginLegacy();
  const params = { protocolVersion: LEGACY_VERSIONS[0], capabilities: host.clientCapabilities, clientInfo: host.clientInfo };
  const res = await host.handshakeRequest('initialize', params, remaining(plan), plan.signal);
  if ('error' in res) {
    throw protocolFault(host, `rejected initialize: ${res.error.code} ${res.error.message}`, { jsonrpcError: res.error });
  }
  const version = res.result.protocolVersion;
  if (typeof version !== 'string' || !(LEGACY_VERSIONS as readonly string[]).includes(version)) {
    throw protocolFault(host, `answered initialize with protocol version ${JSON.stringify(version)}, which the gateway does not speak`);
  }
  host.protocolVersion = version;
  host.capabilities = isObject(res.result.capabilities) ? res.result.capabilities : {};
  host.serverInfo = implementation(res.result.serverInfo);
  host.instructions = typeof res.result.instructions === 'string' ? res.result.instructions : undefined;
  await host.notify('notifications/initialized');
  host.afterLegacyInit();
}

/** Detects the era (unless forced) and completes the handshake; throws a GatewayFault naming the cause. */
export async function handshake(host: HandshakeHost, plan: HandshakePlan): Promise<void> {
  if (plan.mode === 'legacy') return initialize(host, plan);
  if (plan.mode === 'modern') {
    const p = await probe(host, plan, remaining(plan));
    if (p.kind === 'modern') return adoptModern(host, p.result);
    if (p.kind === 'fail') throw p.err;
    throw protocolFault(host, `configured as era "modern", but it does not speak ${MODERN_VERSION} (${p.why})`);
  }
  if (plan.knownEra === 'legacy') {
    try {
      return await initialize(host, plan);
    } catch (err) {
      // The remembered era may be stale (the server was upgraded): re-probe before giving up.
      if (plan.signal.aborted || !reprobeWorthy(err)) throw err;
      const p = await probe(host, plan, remaining(plan));
      if (p.kind === 'modern') return adoptModern(host, p.result);
      throw err;
    }
  }
  const first = await probe(host, plan, plan.knownEra === 'modern' ? remaining(plan) : Math.min(plan.probeTimeoutMs, remaining(plan)));
  if (first.kind === 'modern') return adoptModern(host, first.result);
  if (first.kind === 'fail') throw first.err;
  try {
    await initialize(host, plan);
  } catch (err) {
    // A modern server slower to start than the probe timeout rejects initialize: ask it once more.
    if (!first.silent || plan.signal.aborted || !reprobeWorthy(err)) throw err;
    const again = await probe(host, plan, remaining(plan));
    if (again.kind === 'modern') return adoptModern(host, again.result);
    throw err;
  }
}

function reprobeWorthy(err: unknown): boolean {
  if (!(err instanceof GatewayFault)) return false;
  if (err.error.name === 'upstream_protocol_error') return true;
  const status = err.error.detail?.httpStatus;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function implementation(v: unknown): { name: string; version: string } | undefined {
  if (!isObject(v) || typeof v.name !== 'string') return undefined;
  return { name: v.name, version: typeof v.version === 'string' ? v.version : '' };
}

import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { Catalog } from '../catalog/catalog.ts';
import type { Gateway } from '../core/gateway.ts';
import { errorResponse, gatewayError, type GatewayError } from '../errors/codes.ts';
import { type JsonRpcId, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse } from '../protocol/jsonrpc.ts';
import { isModernVersion, LEGACY_VERSIONS, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, SUPPORTED_VERSIONS } from '../protocol/mcp.ts';
import { LineSplitter } from '../upstream/transports/line-splitter.ts';
import { answerAgent } from './agent-origin.ts';
import type { AgentSession } from './agent-session.ts';
import { listChangedMethods } from './catalog-changes.ts';
import { closeSession } from './edge.ts';
import { checkProtocolVersion } from './modern-headers.ts';
import { serveExchange } from './serve-exchange.ts';
import { FOREIGN_SESSION, type AuthPass } from './authenticate.ts';
import type { RefusalContext } from './refuse.ts';
import { authenticate } from '../identity/authenticator.ts';
import { credentialsFromToken } from '../identity/credentials.ts';
import type { Credentials } from '../identity/method.ts';
import { agentNotification, refuseMessage, SharedReplyChannel, type MessageOut } from './single-channel.ts';
import { oversizedId } from './stdio-lines.ts';
import { parseMessage } from './parse-message.ts';
import { LineOut, sessionView } from './stdio-out.ts';

// The gateway as a local stdio MCP server (a desktop client launches it): newline-delimited JSON-RPC on
// stdin and stdout. The era is decided per message, as on HTTP: `initialize` opens the one 2025-era
// session of the process; a request carrying `_meta["io.modelcontextprotocol/protocolVersion"]` is
// 2026-07-28 and served statelessly. Cancellation is `notifications/cancelled` in both eras.

const MODERN_SUPPORTED = SUPPORTED_VERSIONS.filter(isModernVersion);

export interface StdioStreams {
  readonly input: Readable;
  readonly output: Writable;
  /** The credential of the process (`gateway.stdio.tokenEnv`), when one was given. */
  readonly token?: string | undefined;
}

export interface StdioPlane {
  /** Resolves, with the reason, once the agent's side is gone: stdin ended, or stdout cannot be written. */
  readonly ended: Promise<string>;
  /** Stops reading, lets in-flight exchanges finish (up to drainSeconds), then ends the session. */
  drain(): Promise<boolean>;
  /** Resolves once everything written to stdout has been handed to the OS. */
  flush(): Promise<void>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function startStdioEdge(gw: Gateway, io: StdioStreams): StdioPlane {
  return new StdioEdge(gw, io);
}

class StdioEdge implements StdioPlane {
  readonly ended: Promise<string>;
  readonly #gw: Gateway;
  readonly #input: Readable;
  readonly #out: LineOut;
  /** Every request in flight, either era: ids share one channel, so they must be unique across both. */
  readonly #inflight = new Map<JsonRpcId, AbortController>();
  readonly #end: (why: string) => void;
  readonly #unsubscribe: () => void;
  #session: Mutable<AgentSession> | undefined;
  #handshakeDone: Promise<void> | undefined;
  #sessionOut: ReturnType<typeof sessionView> | undefined;
  #handshake: 'none' | 'pending' | 'done' = 'none';
  #reading = true;
  /** Fixed at start: a reload does not re-frame a stream already being read. */
  readonly #maxLine: number;
  readonly #credentials: Credentials;

  constructor(gw: Gateway, io: StdioStreams) {
    this.#gw = gw;
    this.#credentials = credentialsFromToken(io.token);
    this.#input = io.input;
    this.#out = new LineOut(io.output, () => {
      if (this.#reading) io.input.pause();
    });
    const { promise, resolve } = Promise.withResolvers<string>();
    this.ended = promise;
    this.#end = resolve;
    this.#maxLine = gw.snapshot.config.gateway.limits.maxBodyBytes;
    const splitter = new LineSplitter(this.#maxLine, {
      line: (bytes) => this.#line(bytes),
      overflow: (head, tail, size) => this.#overflow(head, tail, size),
    });
    io.input.on('data', (chunk: Buffer | string) => {
      if (this.#reading) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    });
    io.input.once('end', () => {
      splitter.end();
      this.#end('stdin closed');
    });
    io.input.once('error', (err) => this.#end(`stdin failed: ${err.message}`));
    io.output.on('drain', () => {
      if (this.#reading) io.input.resume();
    });
    const outputGone = (why: string) => {
      this.#out.markClosed();
      this.#end(why);
    };
    io.output.on('error', (err) => outputGone(`stdout failed: ${err.message}`));
    io.output.once('close', () => outputGone('stdout closed'));
    this.#unsubscribe = gw.registry.onCatalogChange((next, prev) => this.#catalogChanged(next, prev));
  }

  async drain(): Promise<boolean> {
    this.#gw.draining = true;
    this.#reading = false;
    this.#input.pause();
    const ok = await this.#gw.drained(this.#gw.snapshot.config.gateway.drainSeconds * 1000);
    this.#unsubscribe();
    // Past the drain: whatever still runs is abandoned, and nothing more is written for it.
    for (const c of this.#inflight.values()) c.abort(new Error('the gateway is shutting down'));
    if (this.#session !== undefined) {
      if (this.#gw.soleAgent === this.#session) this.#gw.soleAgent = undefined;
      closeSession(this.#session);
    }
    return ok;
  }

  flush(): Promise<void> {
    return this.#out.flush();
  }

  #line(bytes: Buffer): void {
    const text = bytes.toString('utf8');
    if (text.trim().length === 0) return;
    const p = parseMessage(text);
    if ('error' in p) return this.#refuse(p.method ?? (p.error.name === 'parse_error' ? '(unparsed line)' : '(invalid message)'), p.error, bytes.length, p.id);
    const msg = p.msg;
    if (!('method' in msg)) return this.#answer(msg);
    if (!('id' in msg) || msg.id === undefined || msg.id === null) {
      return agentNotification(this.#gw, msg as JsonRpcNotification, this.#session, (id) => this.#inflight.get(id));
    }
    void this.#request(msg as JsonRpcRequest, bytes.length);
  }

  #overflow(head: Buffer, tail: Buffer, size: number): void {
    const limit = this.#maxLine;
    const e = gatewayError('body_too_large', `message exceeds the limit of ${limit} bytes (gateway.limits.maxBodyBytes)`, { limitBytes: limit, bytes: size });
    this.#refuse('(oversized line)', e, size, oversizedId(head, tail));
  }

  /** An agent's answer to a server->client request; stdout has no way to refuse it, so it is logged. */
  #answer(res: JsonRpcResponse): void {
    if (this.#session !== undefined && answerAgent(this.#session, res)) return;
    this.#gw.log.warn({ id: res.id }, 'stdio agent answered a request the gateway is not waiting for (unknown id, or it already ended); ignored');
  }

  /**
   * Every request is authenticated with the process's credential (tokens expire, keys get revoked
   * while a desktop client keeps the gateway running); a refusal is answered and recorded like any other.
   */
  async #authenticate(r: JsonRpcRequest, bytesIn: number): Promise<AuthPass | undefined> {
    const out = await authenticate(this.#gw.snapshot.auth.stdio, this.#credentials, this.#gw.identity);
    if (out.kind === 'ok') {
      if (this.#session !== undefined && this.#session.principalId !== out.principal.id) {
        // The credential now names someone else (the token was swapped under a running session).
        this.#refuse(r.method, gatewayError('session_not_found', 'Session not found: the credential no longer names the principal that opened this session'), bytesIn, r.id, { principal: out.principal, decision: FOREIGN_SESSION, denied: true });
        return undefined;
      }
      return out;
    }
    this.#refuse(r.method, out.error, bytesIn, r.id, { principal: out.principal, decision: out.decision });
    return undefined;
  }

  async #request(r: JsonRpcRequest, bytesIn: number): Promise<void> {
    if (this.#gw.draining) return this.#refuse(r.method, gatewayError('draining', 'the gateway is shutting down'), bytesIn, r.id);
    if (this.#inflight.has(r.id)) {
      // Answered with id null: an error under this id would settle the request already running.
      return this.#refuse(r.method, gatewayError('invalid_request', `Invalid Request: a request with id ${JSON.stringify(r.id)} is already in flight`), bytesIn, null);
    }
    const auth = await this.#authenticate(r, bytesIn);
    if (auth === undefined) return;
    const meta = r.params?._meta;
    // Per-request metadata makes it a 2026-07-28 request, whatever the method (initialize included: 404-style).
    if (meta !== null && typeof meta === 'object' && (meta as Record<string, unknown>)[META_PROTOCOL_VERSION] !== undefined) {
      return this.#modern(r, meta as Record<string, unknown>, bytesIn, auth);
    }
    if (r.method === 'initialize') {
      this.#handshakeDone = this.#initialize(r, bytesIn, auth);
      return this.#handshakeDone;
    }
    // A client that pipelines requests behind its initialize waits for the handshake instead of failing.
    if (this.#handshake === 'pending') await this.#handshakeDone?.catch(() => undefined);
    const s = this.#session;
    // Ping may come before the handshake completes; nothing else may (2025-11-25 lifecycle).
    if (this.#handshake === 'done' || r.method === 'ping') {
      await this.#serve(r, bytesIn, auth, 'legacy', s?.protocolVersion ?? LEGACY_VERSIONS[0], s, s?.clientCapabilities ?? {});
      return;
    }
    const e =
      this.#handshake === 'pending'
        ? gatewayError('session_required', `initialize has not completed yet; ${r.method} needs an initialized session`)
        : gatewayError('invalid_params', `Invalid params: _meta["${META_PROTOCOL_VERSION}"] is required (or send initialize for a ${LEGACY_VERSIONS[0]} session)`);
    this.#refuse(r.method, e, bytesIn, r.id);
  }

  async #initialize(r: JsonRpcRequest, bytesIn: number, auth: AuthPass): Promise<void> {
    if (this.#handshake !== 'none') {
      const e = gatewayError('invalid_request', `Invalid Request: the session is already ${this.#handshake === 'done' ? 'initialized' : 'initializing'}; a stdio gateway serves one session (start another process for another)`);
      return this.#refuse(r.method, e, bytesIn, r.id);
    }
    const p = r.params ?? {};
    const out = sessionView(this.#out);
    const session: Mutable<AgentSession> = {
      id: `stdio-${randomBytes(12).toString('base64url')}`,
      protocolVersion: typeof p.protocolVersion === 'string' ? p.protocolVersion : '',
      clientCapabilities: (p.capabilities !== null && typeof p.capabilities === 'object' ? p.capabilities : {}) as Record<string, unknown>,
      clientInfo: p.clientInfo as AgentSession['clientInfo'],
      principalId: auth.principal.id,
      initialized: false,
      logLevel: undefined,
      stream: out,
      inflight: undefined,
      requests: undefined,
      resources: undefined,
      cleanup: undefined,
      singleChannel: true,
    };
    this.#session = session;
    this.#sessionOut = out;
    this.#handshake = 'pending';
    const res = await this.#serve(r, bytesIn, auth, 'legacy', session.protocolVersion, session, session.clientCapabilities);
    if (res !== undefined && 'result' in res) {
      // The session speaks the version the gateway answered with, which may be older than the one asked.
      if (typeof res.result.protocolVersion === 'string') session.protocolVersion = res.result.protocolVersion;
      this.#handshake = 'done';
      // A stdio gateway has exactly one client: upstream requests outside any call (roots/list at an
      // upstream's start-up) are unambiguously its.
      this.#gw.soleAgent = session;
    } else {
      this.#session = undefined;
      this.#sessionOut = undefined;
      this.#handshake = 'none';
    }
  }

  async #modern(r: JsonRpcRequest, meta: Record<string, unknown>, bytesIn: number, auth: AuthPass): Promise<void> {
    const version = meta[META_PROTOCOL_VERSION];
    if (typeof version !== 'string') {
      return this.#refuse(r.method, gatewayError('invalid_params', `Invalid params: _meta["${META_PROTOCOL_VERSION}"] must be a string`), bytesIn, r.id);
    }
    if (checkProtocolVersion(version, MODERN_SUPPORTED) !== undefined) {
      const e = gatewayError('unsupported_protocol_version', `Unsupported protocol version: ${version.slice(0, 64)}`, { supported: [...SUPPORTED_VERSIONS], requested: version.slice(0, 128) });
      return this.#refuse(r.method, e, bytesIn, r.id);
    }
    const caps = meta[META_CLIENT_CAPABILITIES];
    if (caps === null || typeof caps !== 'object') {
      return this.#refuse(r.method, gatewayError('invalid_params', `Invalid params: _meta["${META_CLIENT_CAPABILITIES}"] is required`), bytesIn, r.id);
    }
    await this.#serve(r, bytesIn, auth, 'modern', version, undefined, caps as Record<string, unknown>);
  }

  async #serve(r: JsonRpcRequest, bytesIn: number, auth: AuthPass, era: 'modern' | 'legacy', version: string, session: AgentSession | undefined, caps: Record<string, unknown>): Promise<JsonRpcResponse | undefined> {
    const out: MessageOut = session !== undefined && this.#sessionOut !== undefined ? this.#sessionOut : this.#out;
    // 2026-07-28 puts no requests on stdout; server->client requests belong to the 2025-era session.
    const channel = new SharedReplyChannel(out, era === 'legacy' && session !== undefined);
    this.#inflight.set(r.id, channel.controller);
    try {
      return await serveExchange(this.#gw, channel, { msg: r, bytesIn, auth, era, protocolVersion: version, session, clientCapabilities: caps, clientAddress: undefined });
    } catch (err) {
      this.#gw.log.error({ err, method: r.method }, 'stdio exchange failed');
      this.#out.send(errorResponse(r.id, gatewayError('internal_error', 'internal error')));
      return undefined;
    } finally {
      if (this.#inflight.get(r.id) === channel.controller) this.#inflight.delete(r.id);
    }
  }

  #refuse(method: string, e: GatewayError, bytesIn: number, id: JsonRpcId | null, ctx?: RefusalContext): void {
    refuseMessage(
      this.#gw,
      (json) => void this.#out.sendJson(json),
      method,
      e,
      { bytesIn, id, clientAddress: undefined, session: this.#session, ...(ctx === undefined ? {} : { ctx }) },
    );
  }

  /** list_changed goes to the 2025-era session only: 2026-07-28 agents learn of changes through subscriptions. */
  #catalogChanged(next: Catalog, prev: Catalog): void {
    const out = this.#sessionOut;
    if (out === undefined || this.#handshake !== 'done' || out.closed) return;
    for (const method of listChangedMethods(next, prev)) out.send({ jsonrpc: '2.0', method });
  }
}

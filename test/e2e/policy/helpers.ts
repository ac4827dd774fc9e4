// Shared by the policy end-to-end tests: a gateway whose callers are told apart by API keys, raw HTTP
// in both protocol eras (to compare answers byte for byte), and SDK clients of both generations.
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createKey, type CreateKeyInput } from '../../../src/identity/key-service.ts';
import type { ExchangeRecord } from '../../../src/pipeline/record.ts';
import { startGateway, type TestGateway } from '../../harness/gateway.ts';
import { MODERN, parseSse, type RpcMessage } from '../../harness/rpc.ts';

export interface KeyedGateway {
  readonly gw: TestGateway;
  /** The key text of each agent, by agent name. */
  readonly keys: Readonly<Record<string, string>>;
  /** Every exchange record, in completion order. */
  readonly records: ExchangeRecord[];
}

/** A gateway that authenticates API keys only, with one key per agent; `config` adds upstreams and policy. */
export async function keyedGateway(config: Record<string, unknown>, agents: Record<string, Omit<CreateKeyInput, 'agent'>>, opts: { watch?: boolean } = {}): Promise<KeyedGateway> {
  const gw = await startGateway({ ...keyedConfig(config) }, opts);
  const records: ExchangeRecord[] = [];
  gw.running.gateway.observers.add({ name: 'policy-test', onComplete: (r) => void records.push(r) });
  const keys: Record<string, string> = {};
  for (const [agent, input] of Object.entries(agents)) keys[agent] = (await createKey(gw.running.gateway.store, { agent, ...input }, Date.now())).key;
  return { gw, keys, records };
}

/** The config keyedGateway starts (also what a test rewrites for a reload). */
export function keyedConfig(config: Record<string, unknown>): Record<string, unknown> {
  return { auth: { methods: [{ name: 'keys', type: 'api_key' }] }, ...config, gateway: { ...(config.gateway as object | undefined), listen: { auth: ['keys'] } } };
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** An answer as it crossed the wire. */
export interface RawReply {
  readonly status: number;
  readonly contentType: string;
  /** Response headers but the date and the length (the body is compared itself). */
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** The JSON-RPC response to the request. */
  readonly message: RpcMessage | undefined;
}

async function post(url: string, headers: Record<string, string>, body: unknown): Promise<{ res: Response; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(body) });
  return { res, text: await res.text() };
}

function reply(res: Response, text: string, id: number): RawReply {
  const contentType = res.headers.get('content-type') ?? '';
  const messages = contentType.startsWith('text/event-stream') ? parseSse(text) : text.length > 0 ? [JSON.parse(text) as RpcMessage] : [];
  const headers = Object.fromEntries([...res.headers].filter(([h]) => h !== 'date' && h !== 'content-length'));
  return { status: res.status, contentType, headers, text, message: messages.find((m) => m.id === id && m.method === undefined) };
}

/** One stateless 2026-07-28 request with a fixed JSON-RPC id, so that two answers can be compared byte for byte. */
export async function modernRaw(url: string, headers: Record<string, string>, method: string, params: Record<string, unknown>, id = 7): Promise<RawReply> {
  const name = method === 'tools/call' || method === 'prompts/get' ? params.name : method === 'resources/read' ? params.uri : undefined;
  const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
  const { res, text } = await post(
    url,
    { ...headers, 'mcp-protocol-version': MODERN, 'mcp-method': method, ...(typeof name === 'string' ? { 'mcp-name': name } : {}) },
    { jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } },
  );
  return reply(res, text, id);
}

/**
 * Opens a 2026-07-28 `subscriptions/listen` for resource URIs and returns the URIs the gateway
 * acknowledged, then closes the stream (which ends the subscription).
 */
export async function listenAcknowledged(url: string, headers: Record<string, string>, uris: readonly string[]): Promise<string[]> {
  const ac = new AbortController();
  const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
  try {
    const res = await fetch(url, {
      method: 'POST',
      signal: ac.signal,
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'subscriptions/listen' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 11, method: 'subscriptions/listen', params: { notifications: { resourceSubscriptions: uris }, _meta: meta } }),
    });
    assert.equal(res.status, 200);
    assert.ok(res.body, 'a stream');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      assert.ok(!done, `the stream ended before the acknowledgement: ${text}`);
      text += decoder.decode(value, { stream: true });
      const ack = parseSse(text.slice(0, text.lastIndexOf('\n\n') + 2)).find((m) => m.method === 'notifications/subscriptions/acknowledged');
      if (ack !== undefined) return (ack.params?.notifications as { resourceSubscriptions?: string[] }).resourceSubscriptions ?? [];
    }
  } finally {
    ac.abort();
  }
}

export interface LegacySession {
  call(method: string, params: Record<string, unknown>, id?: number): Promise<RawReply>;
  close(): Promise<void>;
}

/** A 2025-11-25 session over raw HTTP: initialize, initialized, then requests on the session. */
export async function legacySession(url: string, headers: Record<string, string>): Promise<LegacySession> {
  const init = await post(url, headers, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'policy-raw', version: '1' } } });
  assert.equal(init.res.status, 200, init.text);
  const sid = init.res.headers.get('mcp-session-id');
  assert.ok(sid, 'a session id');
  const on = { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
  const ack = await post(url, on, { jsonrpc: '2.0', method: 'notifications/initialized' });
  assert.equal(ack.res.status, 202);
  return {
    async call(method, params, id = 7) {
      const { res, text } = await post(url, on, { jsonrpc: '2.0', id, method, params });
      return reply(res, text, id);
    },
    async close() {
      const res = await fetch(url, { method: 'DELETE', headers: on });
      await res.text();
    },
  };
}

/**
 * Asserts that the answer about a hidden target is the very answer about a target that does not exist:
 * same status, same content type, same body but for the name asked about.
 */
export function assertSameAnswer(hidden: RawReply, hiddenName: string, missing: RawReply, missingName: string, what: string): void {
  assert.ok(hidden.message?.error, `${what}: the hidden target gets an error: ${hidden.text}`);
  assert.equal(hidden.status, missing.status, `${what}: HTTP status`);
  assert.equal(hidden.contentType, missing.contentType, `${what}: content type`);
  assert.deepEqual(hidden.headers, missing.headers, `${what}: headers`);
  // SSE event ids (if any) differ per response; the JSON-RPC payload must not.
  const strip = (t: string) => t.replace(/^id:.*$/gm, '');
  assert.equal(strip(hidden.text), strip(missing.text).replaceAll(missingName, hiddenName), `${what}: body`);
  assert.equal(JSON.stringify(hidden.message), JSON.stringify(missing.message).replaceAll(missingName, hiddenName), `${what}: JSON-RPC error`);
}

/** An SDK 2.x client (negotiates 2026-07-28) with an API key. */
export async function modernClient(url: string, key: string): Promise<Client> {
  const c = new Client({ name: 'policy-v2', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: bearer(key) } }));
  assert.equal(c.getNegotiatedProtocolVersion(), MODERN);
  return c;
}

/** An SDK 1.x client (2025-era session) with an API key. */
export async function legacyClient(url: string, key: string): Promise<V1Client> {
  const c = new V1Client({ name: 'policy-v1', version: '1.0.0' });
  await c.connect(new V1Transport(new URL(url), { requestInit: { headers: bearer(key) } }));
  return c;
}

/** What an SDK call rejected with: code, message and data, for comparing two refusals. */
export async function refusal(p: Promise<unknown>): Promise<{ code: number; message: string; data: unknown }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; data?: unknown };
    assert.equal(typeof e.code, 'number', `an error with a code, got ${String(err)}`);
    return { code: e.code as number, message: String(e.message), data: e.data };
  }
  assert.fail('the call succeeded');
}

/** Public names of listed items (URIs for resources, URI templates for templates), sorted. */
export function names(items: unknown): string[] {
  assert.ok(Array.isArray(items), `a list, got ${JSON.stringify(items)}`);
  return (items as { name?: string; uri?: string; uriTemplate?: string }[]).map((i) => i.uriTemplate ?? i.uri ?? i.name ?? '?').sort();
}

/** The last exchange record for a call, e.g. `tools/call` of `everything__echo`. */
export function lastRecord(records: readonly ExchangeRecord[], method: string, name: string): ExchangeRecord {
  const r = records.findLast((x) => x.method === method && x.target?.name === name);
  assert.ok(r, `a record of ${method} ${name}`);
  return r;
}

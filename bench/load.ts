// A raw JSON-RPC client for the 2026-07-28 Streamable HTTP revision on undici: every request is a
// stateless POST with the MCP headers and `_meta` the revision asks for. Each simulated client runs
// a closed loop (send, wait for the whole response, send again) on its own keep-alive connection.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_PROTOCOL_VERSION, MODERN_VERSION } from '../src/protocol/mcp.ts';

export interface Target {
  /** Origin + path of the MCP endpoint. */
  url: string;
  /** `Authorization` value sent with every request (the gateway's auth modes). */
  authorization?: string | undefined;
}

/** A pool on one target with the request headers built once. */
export interface Conn {
  pool: Pool;
  path: string;
  callHeaders: Record<string, string>;
  listHeaders: Record<string, string>;
}

export interface LoadResult {
  calls: number;
  errors: number;
  /** First error seen, for the report. */
  firstError?: string;
  elapsedMs: number;
  /** Latency of every successful call, in ms, unsorted. */
  latencies: Float64Array;
}

const META = { [META_PROTOCOL_VERSION]: MODERN_VERSION, [META_CLIENT_CAPABILITIES]: {}, [META_CLIENT_INFO]: { name: 'gatehouse-bench', version: '1' } };

export function headers(method: string, name?: string): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN_VERSION,
    'mcp-method': method,
  };
  if (name !== undefined) h['mcp-name'] = name;
  return h;
}

/** The body of a request, split around its id so building one costs a concatenation. */
export function template(method: string, params: Record<string, unknown>): [string, string] {
  const json = JSON.stringify({ jsonrpc: '2.0', id: 0, method, params: { ...params, _meta: META } });
  const at = json.indexOf('"id":0') + '"id":'.length;
  return [json.slice(0, at), json.slice(at + 1)];
}

export const ECHO_MESSAGE = 'hello from gatehouse-bench';
const CALL_HEADERS = headers('tools/call', 'echo');
const [CALL_HEAD, CALL_TAIL] = template('tools/call', { name: 'echo', arguments: { message: ECHO_MESSAGE } });
const LIST_HEADERS = headers('tools/list');
const [LIST_HEAD, LIST_TAIL] = template('tools/list', {});

export function openPool(target: Target, connections: number): Conn {
  const url = new URL(target.url);
  const pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const auth: Record<string, string> = target.authorization === undefined ? {} : { authorization: target.authorization };
  return { pool, path: url.pathname + url.search, callHeaders: { ...CALL_HEADERS, ...auth }, listHeaders: { ...LIST_HEADERS, ...auth } };
}

/**
 * The JSON-RPC message in a response body, whether the server answered with JSON or with an SSE
 * stream (the last `data:` event carrying a response).
 */
export function parseResponseBody(contentType: string, text: string): { result?: Record<string, unknown>; error?: { code: number; message: string } } {
  if (!contentType.startsWith('text/event-stream')) return JSON.parse(text);
  let last: unknown;
  for (const line of text.split('\n')) {
    if (line.startsWith('data:')) {
      const msg = JSON.parse(line.slice(5)) as { id?: unknown };
      if (msg.id !== undefined) last = msg;
    }
  }
  if (last === undefined) throw new Error('SSE response carried no JSON-RPC response');
  return last as { result?: Record<string, unknown> };
}

/** One tools/list call; the tool names it returned, or an error describing what came back instead. */
export async function listTools({ pool, path, listHeaders }: Conn): Promise<string[]> {
  const res = await pool.request({ path, method: 'POST', headers: listHeaders, body: `${LIST_HEAD}1${LIST_TAIL}` });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`tools/list answered HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  const msg = parseResponseBody(String(res.headers['content-type'] ?? ''), text);
  if (msg.error) throw new Error(`tools/list failed: ${msg.error.code} ${msg.error.message}`);
  const tools = (msg.result?.['tools'] ?? []) as Array<{ name: string }>;
  return tools.map((t) => t.name);
}

/** One echo call, checked in full; throws with what came back when it is not the echo. */
export async function checkEcho({ pool, path, callHeaders }: Conn): Promise<void> {
  const res = await pool.request({ path, method: 'POST', headers: callHeaders, body: `${CALL_HEAD}1${CALL_TAIL}` });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`tools/call answered HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  const msg = parseResponseBody(String(res.headers['content-type'] ?? ''), text);
  const content = msg.result?.['content'] as Array<{ text?: string }> | undefined;
  if (!content?.some((c) => c.text?.includes(ECHO_MESSAGE))) throw new Error(`tools/call did not echo: ${text.slice(0, 300)}`);
}

/**
 * Runs `clients` closed loops of echo calls until `durationMs` has passed. A call counts as an error
 * when the status is not 200 or the body carries a JSON-RPC error; the loop then carries on.
 */
export async function runLoad({ pool, path, callHeaders }: Conn, clients: number, durationMs: number): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let calls = 0;
  let errors = 0;
  let firstError: string | undefined;
  let nextId = 1;
  const start = performance.now();
  const deadline = start + durationMs;

  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path, method: 'POST', headers: callHeaders, body: `${CALL_HEAD}${nextId++}${CALL_TAIL}` });
        const text = await res.body.text();
        // A cheap check per call: the full parse happens once in checkEcho before the run.
        if (res.statusCode !== 200 || !text.includes('"result"') || text.includes('"error":{')) {
          errors++;
          firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
          continue;
        }
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
        continue;
      }
      if (calls === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[calls++] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  const elapsedMs = performance.now() - start;
  return { calls, errors, elapsedMs, latencies: latencies.subarray(0, calls), ...(firstError === undefined ? {} : { firstError }) };
}

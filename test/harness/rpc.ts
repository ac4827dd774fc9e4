// Raw 2026-07-28 JSON-RPC over HTTP for end-to-end tests: exact error codes, exact progress tokens,
// and no client-side caching between the test and the gateway.
import { request } from 'undici';

export const MODERN = '2026-07-28';

export interface RpcMessage {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

export interface RpcReply {
  status: number;
  contentType: string;
  /** Everything the gateway sent, in order (one message for JSON, each event for SSE). */
  messages: RpcMessage[];
  /** The message answering the request (by id), if any. */
  response: RpcMessage | undefined;
}

let nextId = 1;

/** One stateless 2026-07-28 request, with the headers the revision requires. */
export async function modernRequest(url: string, method: string, params: Record<string, unknown> = {}, opts: { signal?: AbortSignal; accept?: string; capabilities?: Record<string, unknown> } = {}): Promise<RpcReply> {
  const id = nextId++;
  const meta = { ...(params._meta as object | undefined), 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': opts.capabilities ?? {} };
  const name = method === 'tools/call' || method === 'prompts/get' ? params.name : method === 'resources/read' ? params.uri : undefined;
  const res = await request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: opts.accept ?? 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  const text = await res.body.text();
  const contentType = String(res.headers['content-type'] ?? '');
  const messages = contentType.startsWith('text/event-stream') ? parseSse(text) : text.length > 0 ? [JSON.parse(text) as RpcMessage] : [];
  return { status: res.statusCode, contentType, messages, response: messages.find((m) => m.id === id && m.method === undefined) };
}

/** The JSON-RPC messages of a complete SSE body (events without data, such as primers, are skipped). */
export function parseSse(text: string): RpcMessage[] {
  const out: RpcMessage[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data.length > 0) out.push(JSON.parse(data) as RpcMessage);
  }
  return out;
}

/** Every tool name the gateway lists right now, following cursors. */
export async function listToolNames(url: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const r = await modernRequest(url, 'tools/list', cursor === undefined ? {} : { cursor });
    const result = r.response?.result;
    if (result === undefined) throw new Error(`tools/list failed: ${JSON.stringify(r.response ?? r.status)}`);
    for (const t of result.tools as { name: string }[]) names.push(t.name);
    cursor = result.nextCursor as string | undefined;
  } while (cursor !== undefined);
  return names;
}

/**
 * The head of a 2026-07-28 `tools/list` POST that asks `Expect: 100-continue`: written alone, it leaves a
 * request whose headers the gateway has read and whose body is still to come (it holds the connection
 * open through a drain).
 */
export function heldListHead(port: string | number, body: string): string {
  return [
    'POST /mcp HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Content-Type: application/json',
    'Accept: application/json, text/event-stream',
    `MCP-Protocol-Version: ${MODERN}`,
    'Mcp-Method: tools/list',
    'Expect: 100-continue',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    '',
  ].join('\r\n');
}

// What the trail says about an answer without keeping it: its size, the kinds of content, whether the
// tool reported an error, how many items a list held. The content itself only when configured.
import type { JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { AuditResultSummary } from './entry.ts';

/** `result` member holding the items of each list method's answer. */
const LIST_ITEMS: Readonly<Record<string, string>> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
};

/**
 * Methods whose answer is the content of one target: only these keep content under `results: content`.
 * Lists are catalogs, not results of a call, and would swamp the trail with copies of it.
 */
const CONTENT_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read']);

/** Distinct string values of `field` over the objects in `items`, in order of first appearance. */
function distinct(items: unknown, field: string, into: string[]): void {
  if (!Array.isArray(items)) return;
  for (const it of items) {
    if (typeof it !== 'object' || it === null || !Object.hasOwn(it, field)) continue;
    const t = (it as Record<string, unknown>)[field];
    if (typeof t === 'string' && !into.includes(t)) into.push(t);
  }
}

/**
 * Summarizes the answer written to the agent. Undefined when there was no JSON-RPC answer (a
 * notification, a client that went away). An error answer is summarized by its size only: the error
 * itself is recorded apart. With `content`, the summary carries the result object for the caller to
 * redact before it is kept.
 */
export function summarizeResult(method: string | undefined, response: JsonRpcResponse | undefined, bytesOut: number, content: boolean): AuditResultSummary | undefined {
  if (response === undefined) return undefined;
  const out: AuditResultSummary = { size: bytesOut };
  if (!('result' in response)) return out;
  const r = response.result;
  if (typeof r !== 'object' || r === null) return out;
  const types: string[] = [];
  if (method === 'resources/read') {
    // A resource read answers `contents`: their MIME types are what "content type" means there.
    distinct(r.contents, 'mimeType', types);
  } else {
    distinct(r.content, 'type', types);
    if (r.structuredContent !== undefined && r.structuredContent !== null) types.push('structured');
  }
  if (types.length > 0) out.contentTypes = types;
  if (method === 'tools/call') out.isError = r.isError === true;
  else if (r.isError === true) out.isError = true;
  const listField = method === undefined ? undefined : LIST_ITEMS[method];
  if (listField !== undefined && Array.isArray(r[listField])) out.items = (r[listField] as unknown[]).length;
  else if (method === 'prompts/get' && Array.isArray(r.messages)) out.items = r.messages.length;
  else if (method === 'completion/complete') {
    const values = (r.completion as { values?: unknown } | undefined)?.values;
    if (Array.isArray(values)) out.items = values.length;
  }
  if (content && method !== undefined && CONTENT_METHODS.has(method)) out.content = r;
  return out;
}

import type { JsonRpcId } from '../protocol/jsonrpc.ts';

// What can be said about a stdin line that could not be served as a message.

const HEAD_ID = /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*("(?:[^"\\]|\\.){0,128}"|-?\d{1,16})\s*[,}]/;
const TAIL_ID = /[{,]\s*"id"\s*:\s*("(?:[^"\\]|\\.){0,128}"|-?\d{1,16})\s*}\s*$/;

/**
 * The id of a line too long to parse, when it sits where clients put it: first (`{"jsonrpc":"2.0","id":…`)
 * or last (the SDKs append it). Anchored at either end of the top-level object, so an `id` nested in
 * params never matches. Lets the agent's request fail at once instead of waiting for a timeout.
 */
export function oversizedId(head: Buffer, tail: Buffer): JsonRpcId | null {
  const m = HEAD_ID.exec(head.toString('utf8')) ?? TAIL_ID.exec(tail.toString('utf8'));
  if (m === null) return null;
  try {
    const id = JSON.parse(m[1] as string) as unknown;
    return typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id)) ? id : null;
  } catch {
    return null;
  }
}

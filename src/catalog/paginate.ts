import { gatewayError, type GatewayError } from '../errors/codes.ts';

/**
 * Cursors are opaque to agents: the list they belong to and an offset into the merged list.
 * A cursor from another list, or one that was tampered with, is an invalid-params error.
 */
export function encodeCursor(list: string, offset: number): string {
  return Buffer.from(`${list}:${offset}`).toString('base64url');
}

export function page<T>(
  items: readonly T[],
  list: string,
  cursor: unknown,
  pageSize: number,
): { items: readonly T[]; nextCursor: string | undefined } | GatewayError {
  let offset = 0;
  if (cursor !== undefined) {
    if (typeof cursor !== 'string') return gatewayError('invalid_cursor', 'cursor must be a string');
    const text = Buffer.from(cursor, 'base64url').toString();
    const colon = text.lastIndexOf(':');
    const n = Number(text.slice(colon + 1));
    if (colon < 0 || text.slice(0, colon) !== list || !Number.isInteger(n) || n < 0) {
      return gatewayError('invalid_cursor', `invalid cursor for ${list}`);
    }
    // A cursor past the end (the list shrank since it was issued) yields an empty last page.
    offset = n;
  }
  if (offset === 0 && items.length <= pageSize) return { items, nextCursor: undefined };
  const end = offset + pageSize;
  return { items: items.slice(offset, end), nextCursor: end < items.length ? encodeCursor(list, end) : undefined };
}

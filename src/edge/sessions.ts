import { randomBytes } from 'node:crypto';

/**
 * The 2025-era session table (`Mcp-Session-Id`). In-process only: a replica that did not mint an id
 * answers 404 for it, and the agent re-initialises (what the spec asks of clients).
 *
 * Ids are 128 random bits as 22 base64url characters (visible ASCII, as the spec requires). An id of
 * any other shape is refused before lookup, so junk never reaches the map. Each entry costs one small
 * record besides the session itself: keep `S` lean too (thousands may sit idle).
 */
export interface SessionTableOptions<S> {
  readonly maxSessions: number;
  /** Idle time after which a session is expired; fractions allowed (tests). */
  readonly sessionIdleSeconds: number;
  /** Called after an expired session has left the table; errors it throws become process warnings. */
  readonly onExpire?: (id: string, session: S) => void;
  /** Clock in ms, for tests that drive `sweep()` by hand. */
  readonly now?: () => number;
}

interface Entry<S> {
  readonly session: S;
  lastSeen: number;
}

const ID_BYTES = 16;
const ID_LENGTH = 22;

/** True for ids this table could have minted: 22 base64url characters. */
export function isWellFormedSessionId(id: unknown): id is string {
  if (typeof id !== 'string' || id.length !== ID_LENGTH) return false;
  for (let i = 0; i < ID_LENGTH; i++) {
    const c = id.charCodeAt(i);
    const ok = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
    if (!ok) return false;
  }
  return true;
}

export class SessionTable<S> {
  readonly #entries = new Map<string, Entry<S>>();
  readonly #max: number;
  readonly #idleMs: number;
  readonly #onExpire: ((id: string, session: S) => void) | undefined;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SessionTableOptions<S>) {
    if (!(options.maxSessions >= 1)) throw new RangeError('maxSessions must be at least 1');
    if (!(options.sessionIdleSeconds > 0)) throw new RangeError('sessionIdleSeconds must be positive');
    this.#max = options.maxSessions;
    this.#idleMs = options.sessionIdleSeconds * 1000;
    this.#onExpire = options.onExpire;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A new session under a fresh id, or undefined when the table is full (or closed). */
  create(init: (id: string) => S): { id: string; session: S } | undefined {
    if (this.#closed || this.#entries.size >= this.#max) return undefined;
    let id = randomBytes(ID_BYTES).toString('base64url');
    // 2^-128 per pair; checked anyway because a collision would hand one agent another's session.
    while (this.#entries.has(id)) id = randomBytes(ID_BYTES).toString('base64url');
    const session = init(id);
    this.#entries.set(id, { session, lastSeen: this.#now() });
    this.#startSweeping();
    return { id, session };
  }

  /** The session, marking it used now; undefined for unknown or malformed ids. */
  get(id: string | undefined): S | undefined {
    if (!isWellFormedSessionId(id)) return undefined;
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    entry.lastSeen = this.#now();
    return entry.session;
  }

  /** The session without counting as use (admin views, broadcasts). */
  peek(id: string | undefined): S | undefined {
    if (!isWellFormedSessionId(id)) return undefined;
    return this.#entries.get(id)?.session;
  }

  delete(id: string | undefined): S | undefined {
    if (!isWellFormedSessionId(id)) return undefined;
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    this.#entries.delete(id);
    if (this.#entries.size === 0) this.#stopSweeping();
    return entry.session;
  }

  *values(): IterableIterator<S> {
    for (const entry of this.#entries.values()) yield entry.session;
  }

  /** Expires sessions idle for `sessionIdleSeconds` or longer; the timer calls this, tests may too. */
  sweep(): number {
    const cutoff = this.#now() - this.#idleMs;
    const expired: [string, S][] = [];
    for (const [id, entry] of this.#entries) {
      if (entry.lastSeen <= cutoff) expired.push([id, entry.session]);
    }
    // Removed first, then reported: a callback that looks the id up sees it gone.
    for (const [id] of expired) this.#entries.delete(id);
    if (this.#entries.size === 0) this.#stopSweeping();
    if (this.#onExpire !== undefined) {
      for (const [id, session] of expired) {
        try {
          this.#onExpire(id, session);
        } catch (err) {
          process.emitWarning(`session onExpire failed: ${(err as Error)?.message ?? String(err)}`, 'GatehouseSessionWarning');
        }
      }
    }
    return expired.length;
  }

  /** Empties the table for shutdown and stops the timer; later `create` calls return undefined. */
  closeAll(): void {
    this.#closed = true;
    this.#stopSweeping();
    this.#entries.clear();
  }

  #startSweeping(): void {
    if (this.#timer !== undefined) return;
    // Half the idle time: a session lives between 1× and 1.5× the idle time after its last use.
    this.#timer = setInterval(() => this.sweep(), Math.min(Math.max(this.#idleMs / 2, 10), 2 ** 31 - 1));
    this.#timer.unref();
  }

  #stopSweeping(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

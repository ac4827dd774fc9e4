import { META_RELATED_TASK } from '../protocol/mcp.ts';
import type { Logger } from 'pino';
import type { AgentSession } from '../edge/agent-session.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { Era } from '../protocol/mcp.ts';

/** The 2026-07-28 tasks extension's name, under `capabilities.extensions`. */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
/** `_meta` key that ties a message to a task (2025-11-25). */
export const RELATED_TASK_META = META_RELATED_TASK;

export type AskAgent = (req: JsonRpcRequest) => Promise<JsonRpcResponse>;

/**
 * Who may see a task: the principal that created it and, for a 2025-era agent, the session it was
 * created in (tasks/list there is per session; a new session of the same principal starts empty).
 */
export interface TaskOwner {
  readonly principal: string;
  readonly session: string | undefined;
}

export interface TaskEntry {
  readonly taskId: string;
  readonly upstream: string;
  /** The wire shape the task was created with: 2025 `{task:{…}}` or 2026 flat `resultType: "task"`. */
  readonly era: Era;
  readonly ownerKey: string;
  /** Creation order, for stable tasks/list cursors that survive eviction. */
  readonly seq: number;
  readonly created: number;
  readonly expires: number;
  /** The tool call that created it, so later task operations carry a meaningful audit target. */
  readonly tool: string | undefined;
  readonly upstreamTool: string | undefined;
  /** Sends a status notification to the owner outside any request (2025 session stream); false when it cannot. */
  readonly deliver: ((n: JsonRpcNotification) => boolean) | undefined;
  /** The owner's tasks/result calls in flight, newest last: who answers the upstream's questions about the task. */
  readonly waiting: AskAgent[];
}

export interface TaskTableOptions {
  readonly log?: Logger;
  /** Bound on tasks tracked across all agents; the oldest go first when it is reached. */
  readonly maxEntries?: number;
  /** Bound per owner, so one agent cannot push everyone else's tasks out. */
  readonly maxPerOwner?: number;
  /** Longest a task is tracked, whatever (or however unlimited) its ttl. */
  readonly maxTtlMs?: number;
  /** Kept this much past the task's ttl: the upstream decides when it is really gone. */
  readonly graceMs?: number;
  readonly now?: () => number;
}

export interface NewTask {
  readonly taskId: string;
  readonly upstream: string;
  readonly era: Era;
  /** The task's ttl in ms as the upstream granted it; null or undefined: unlimited (capped by maxTtlMs). */
  readonly ttlMs: number | null | undefined;
  readonly tool?: string;
  readonly upstreamTool?: string;
  readonly deliver?: (n: JsonRpcNotification) => boolean;
}

const SWEEP_EVERY_MS = 30_000;

/** Length-prefixed, so no principal or session id can make one owner's key a prefix of another's. */
export function ownerKey(o: TaskOwner): string {
  const s = o.session === undefined ? '-' : `${o.session.length}:${o.session}`;
  return `${o.principal.length}:${o.principal}|${s}|`;
}

export function ownerOf(x: Exchange): TaskOwner {
  return { principal: x.principal.id, session: x.origin.session?.id };
}

/**
 * The tasks agents created through the gateway: which upstream owns each, and who may see it.
 * Upstream task ids pass through unchanged; an entry is keyed by owner and id, so two upstreams that
 * hand out the same id to different owners stay apart. One owner given the same id by two upstreams
 * keeps only the newer task (logged): telling them apart would need rewritten ids.
 */
export class TaskTable {
  readonly #log: Logger | undefined;
  readonly #maxEntries: number;
  readonly #maxPerOwner: number;
  readonly #maxTtlMs: number;
  readonly #graceMs: number;
  readonly #now: () => number;
  /** ownerKey + taskId → entry, in creation order (the oldest is evicted first). */
  readonly #byKey = new Map<string, TaskEntry>();
  /** ownerKey → its entries' keys, in creation order. */
  readonly #byOwner = new Map<string, Set<string>>();
  /**
   * upstream + taskId → entries, to route what an upstream says about a task to its owner. More than one
   * entry means the upstream reused an id across owners: then nobody is told, rather than maybe the wrong agent.
   */
  readonly #byUpstream = new Map<string, TaskEntry[]>();
  readonly #sessions = new WeakSet<AgentSession>();
  #seq = 0;
  #nextSweep = 0;

  constructor(opts: TaskTableOptions = {}) {
    this.#log = opts.log;
    this.#maxEntries = opts.maxEntries ?? 10_000;
    this.#maxPerOwner = opts.maxPerOwner ?? 1_000;
    this.#maxTtlMs = opts.maxTtlMs ?? 24 * 3600_000;
    this.#graceMs = opts.graceMs ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Records the task a `tools/call` result creates, if it is one: the 2025-11-25 `CreateTaskResult`
   * (`{task: {taskId, status, ttl, …}}`) or the 2026-07-28 extension's flat one (`resultType: "task"`,
   * `taskId`, `status`, `ttlMs`). Only the shape of the agent's own era counts: the gateway does not
   * translate tasks across eras, so a foreign-shaped task could never be driven by this agent.
   */
  noteResult(x: Exchange, upstream: string, result: Record<string, unknown>): TaskEntry | undefined {
    if (x.method !== 'tools/call') return undefined;
    const found = parseCreateTaskResult(result);
    if (found === undefined) return undefined;
    const agentEra: Era = x.origin.era ?? 'legacy';
    if (found.era !== agentEra) {
      this.#log?.warn({ upstream, taskId: found.taskId, agentEra, taskEra: found.era }, 'upstream created a task in the other protocol era; tasks are not translated across eras, so it is not tracked');
      return undefined;
    }
    const s = x.origin.session;
    if (s !== undefined && !this.#sessions.has(s)) {
      // A session's tasks die with it: nobody else may ever see them, so keeping them only costs memory.
      this.#sessions.add(s);
      const owner = ownerOf(x);
      (s.cleanup ??= []).push(() => this.dropOwner(owner));
    }
    return this.record(ownerOf(x), {
      taskId: found.taskId,
      upstream,
      era: found.era,
      ttlMs: found.ttlMs,
      tool: x.target?.name,
      upstreamTool: x.target?.upstreamName,
      deliver: s === undefined ? undefined : sessionDeliverer(s),
    });
  }

  record(owner: TaskOwner, t: NewTask): TaskEntry {
    const now = this.#now();
    if (now >= this.#nextSweep) this.sweep();
    const ok = ownerKey(owner);
    const key = ok + t.taskId;
    const previous = this.#byKey.get(key);
    if (previous !== undefined) {
      if (previous.upstream !== t.upstream) {
        this.#log?.warn({ taskId: t.taskId, kept: t.upstream, dropped: previous.upstream }, 'two upstreams gave the same agent the same task id; only the newer task stays reachable');
      }
      this.#remove(key, previous);
    }
    const ttl = typeof t.ttlMs === 'number' && Number.isFinite(t.ttlMs) && t.ttlMs >= 0 ? Math.min(t.ttlMs, this.#maxTtlMs) : this.#maxTtlMs;
    const entry: TaskEntry = {
      taskId: t.taskId,
      upstream: t.upstream,
      era: t.era,
      ownerKey: ok,
      seq: ++this.#seq,
      created: now,
      expires: now + ttl + this.#graceMs,
      tool: t.tool,
      upstreamTool: t.upstreamTool,
      deliver: t.deliver,
      waiting: [],
    };
    const held = this.#byOwner.get(ok);
    if (held !== undefined && held.size >= this.#maxPerOwner) this.#evict(held.values().next().value!, 'the agent holds too many tasks');
    if (this.#byKey.size >= this.#maxEntries) this.#evict(this.#byKey.keys().next().value!, 'the gateway tracks too many tasks');
    // Looked up after evicting: an eviction may have emptied (and removed) the owner's set.
    let mine = this.#byOwner.get(ok);
    if (mine === undefined) this.#byOwner.set(ok, (mine = new Set()));
    this.#byKey.set(key, entry);
    mine.add(key);
    const uk = `${t.upstream}\n${t.taskId}`;
    const same = this.#byUpstream.get(uk);
    if (same === undefined) this.#byUpstream.set(uk, [entry]);
    else {
      same.push(entry);
      this.#log?.warn({ upstream: t.upstream, taskId: t.taskId }, 'upstream handed the same task id to different agents; its notifications and requests about it are not relayed');
    }
    return entry;
  }

  /** The owner's task with this id; undefined alike for unknown, expired and other owners' tasks. */
  lookup(owner: TaskOwner, taskId: string): TaskEntry | undefined {
    const key = ownerKey(owner) + taskId;
    const e = this.#byKey.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= this.#now()) {
      this.#remove(key, e);
      return undefined;
    }
    return e;
  }

  /** The owner's live tasks created after `afterSeq`, oldest first, at most `limit`. */
  owned(owner: TaskOwner, afterSeq: number, limit: number): TaskEntry[] {
    const keys = this.#byOwner.get(ownerKey(owner));
    const out: TaskEntry[] = [];
    if (keys === undefined) return out;
    const now = this.#now();
    for (const key of [...keys]) {
      const e = this.#byKey.get(key)!;
      if (e.expires <= now) this.#remove(key, e);
      else if (e.seq > afterSeq && out.length < limit) out.push(e);
    }
    return out;
  }

  /** The upstream said it no longer knows the task. */
  forget(e: TaskEntry): void {
    const key = e.ownerKey + e.taskId;
    if (this.#byKey.get(key) === e) this.#remove(key, e);
  }

  dropOwner(owner: TaskOwner): void {
    const keys = this.#byOwner.get(ownerKey(owner));
    if (keys === undefined) return;
    for (const key of [...keys]) this.#remove(key, this.#byKey.get(key)!);
  }

  /**
   * Routes an upstream's `notifications/tasks/status` to the agent that owns the task. Returns whether
   * the task is one the gateway tracks (delivered or not: status notifications are optional, and an
   * agent without a session stream polls instead).
   */
  relayStatus(upstream: string, n: JsonRpcNotification): boolean {
    const taskId = n.params?.taskId;
    if (typeof taskId !== 'string') return false;
    const e = this.#soleByUpstream(upstream, taskId);
    if (e === undefined) return false;
    if (e.deliver === undefined || !e.deliver(n)) this.#log?.debug({ upstream, taskId }, 'task status notification not delivered: the owner has no open session stream');
    return true;
  }

  /**
   * While the owner waits in tasks/result, server->client requests the upstream makes about the task
   * (`_meta[related-task]`) go to it. Returns the function that ends the wait.
   */
  awaitResult(e: TaskEntry, ask: AskAgent): () => void {
    e.waiting.push(ask);
    return () => {
      const i = e.waiting.lastIndexOf(ask);
      if (i >= 0) e.waiting.splice(i, 1);
    };
  }

  /**
   * Who answers an upstream's server->client request that names its task: the owner's newest waiting
   * tasks/result call. Undefined when the request names no task the gateway tracks, or nobody waits.
   */
  askerFor(upstream: string, req: JsonRpcRequest): AskAgent | undefined {
    const taskId = relatedTaskId(req.params);
    if (taskId === undefined) return undefined;
    const e = this.#soleByUpstream(upstream, taskId);
    if (e === undefined) return undefined;
    return e.waiting.at(-1);
  }

  /** Drops every expired entry. Runs on its own at most every 30 s, from `record`. */
  sweep(): void {
    const now = this.#now();
    this.#nextSweep = now + SWEEP_EVERY_MS;
    for (const [key, e] of this.#byKey) if (e.expires <= now) this.#remove(key, e);
  }

  #soleByUpstream(upstream: string, taskId: string): TaskEntry | undefined {
    const same = this.#byUpstream.get(`${upstream}\n${taskId}`);
    if (same === undefined || same.length !== 1) return undefined;
    const e = same[0]!;
    return e.expires > this.#now() ? e : undefined;
  }

  #evict(key: string, why: string): void {
    const e = this.#byKey.get(key)!;
    if (e.expires > this.#now()) this.#log?.warn({ upstream: e.upstream, taskId: e.taskId, why }, 'live task evicted from the task table; its owner can no longer reach it');
    this.#remove(key, e);
  }

  #remove(key: string, e: TaskEntry): void {
    this.#byKey.delete(key);
    const mine = this.#byOwner.get(e.ownerKey);
    if (mine !== undefined) {
      mine.delete(key);
      if (mine.size === 0) this.#byOwner.delete(e.ownerKey);
    }
    const uk = `${e.upstream}\n${e.taskId}`;
    const same = this.#byUpstream.get(uk);
    if (same !== undefined) {
      const i = same.indexOf(e);
      if (i >= 0) same.splice(i, 1);
      if (same.length === 0) this.#byUpstream.delete(uk);
    }
  }
}

/** The task a result creates, in either era's shape; undefined for any other result. */
export function parseCreateTaskResult(result: Record<string, unknown>): { taskId: string; era: Era; ttlMs: number | null | undefined } | undefined {
  if (result.resultType === 'task') {
    if (typeof result.taskId !== 'string' || typeof result.status !== 'string') return undefined;
    return { taskId: result.taskId, era: 'modern', ttlMs: numberOrNull(result.ttlMs) };
  }
  const task = result.task;
  if (task === null || typeof task !== 'object' || Array.isArray(task)) return undefined;
  const t = task as Record<string, unknown>;
  if (typeof t.taskId !== 'string' || typeof t.status !== 'string') return undefined;
  return { taskId: t.taskId, era: 'legacy', ttlMs: numberOrNull(t.ttl) };
}

/** The task a message's `_meta[related-task]` names, if any. */
export function relatedTaskId(params: Record<string, unknown> | undefined): string | undefined {
  const meta = params?._meta;
  if (meta === null || typeof meta !== 'object') return undefined;
  const related = (meta as Record<string, unknown>)[RELATED_TASK_META] as { taskId?: unknown } | null | undefined;
  return typeof related?.taskId === 'string' ? related.taskId : undefined;
}

function numberOrNull(v: unknown): number | null | undefined {
  return typeof v === 'number' || v === null ? v : undefined;
}

function sessionDeliverer(s: AgentSession): (n: JsonRpcNotification) => boolean {
  return (n) => {
    const stream = s.stream;
    if (stream === undefined || stream.closed) return false;
    return stream.send(n).ok;
  };
}

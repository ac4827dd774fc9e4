import { GATEWAY_TARGET } from '../pipeline/target.ts';
import type { Gateway } from '../core/gateway.ts';
import { gatewayError, GatewayFault, type GatewayError } from '../errors/codes.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { Era } from '../protocol/mcp.ts';
import { askAgent } from '../relay/ask-agent.ts';
import { ownerOf, TASKS_EXTENSION, type TaskEntry } from '../relay/tasks.ts';
import type { CallOptions } from '../upstream/session.ts';
import { forward } from './forward.ts';
import type { MethodHandler, MethodOutcome } from './method.ts';

// Task operations resolve to a target that says nothing about the task: resolution runs before
// authentication, so it cannot know the owner, and a target naming another owner's task would let
// policy decisions (deny vs. not found) reveal that the task exists. The real target is set once the
// owner is known, for the audit record.
const LIST_TARGET = Object.freeze({ kind: 'list' as const });

/** Bound on tasks per tasks/list page: each costs one upstream tasks/get. */
const MAX_LIST_PAGE = 50;
const LIST_CONCURRENCY = 8;
const TASK_STATUS_FIELDS = ['taskId', 'status', 'statusMessage', 'createdAt', 'lastUpdatedAt', 'ttl', 'pollInterval'] as const;

type TaskMethod = 'tasks/get' | 'tasks/result' | 'tasks/cancel' | 'tasks/update' | 'tasks/list';

/** The one answer for unknown, expired and other owners' tasks alike: nothing to tell them apart. */
function unknownTask(): GatewayError {
  return gatewayError('invalid_params', 'Failed to retrieve task: Task not found');
}

export function declaresTasksExtension(caps: Record<string, unknown>): boolean {
  const ext = caps.extensions;
  if (ext === null || typeof ext !== 'object' || Array.isArray(ext)) return false;
  const v = (ext as Record<string, unknown>)[TASKS_EXTENSION];
  return v !== undefined && v !== null && v !== false;
}

function missingExtension(what: string): GatewayError {
  return gatewayError('missing_client_capability', `${what} needs the ${TASKS_EXTENSION} extension, which this request's client capabilities do not declare`, {
    requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } },
  });
}

/**
 * What each era has: 2025-11-25 `tasks/get|result|list|cancel`; the 2026-07-28 extension
 * `tasks/get|update|cancel` (its results are inlined in tasks/get, and there is no listing), usable only
 * by a request that declares the extension.
 */
function resolveFor(method: TaskMethod): NonNullable<MethodHandler['resolve']> {
  return (_gw, x) => {
    const modern = x.origin.era === 'modern';
    if (modern && (method === 'tasks/result' || method === 'tasks/list')) {
      return gatewayError('method_not_found', `Method not found: ${method} (not part of the ${TASKS_EXTENSION} extension; tasks/get inlines a finished task's result)`);
    }
    if (!modern && method === 'tasks/update') return gatewayError('method_not_found', 'Method not found: tasks/update (2025-era tasks take input through tasks/result)');
    if (modern && !declaresTasksExtension(x.origin.clientCapabilities)) return missingExtension(method);
    if (method === 'tasks/list') return LIST_TARGET;
    if (typeof x.params?.taskId !== 'string') return gatewayError('invalid_params', `Invalid params: ${method} needs params.taskId (a string)`);
    return GATEWAY_TARGET;
  };
}

/** tasks/get, tasks/result, tasks/cancel, tasks/update: to the upstream that owns the caller's task. */
function routed(method: Exclude<TaskMethod, 'tasks/list'>): MethodHandler {
  return {
    resolve: resolveFor(method),
    async handle(gw, x): Promise<MethodOutcome> {
      const e = gw.tasks.lookup(ownerOf(x), x.params!.taskId as string);
      if (e === undefined) return { error: unknownTask() };
      x.target = { kind: 'tool', upstream: e.upstream, name: e.tool, upstreamName: e.upstreamTool };
      const opts: CallOptions = {};
      let endWait: (() => void) | undefined;
      // A 2026 upstream gates task methods on the extension in the request's client capabilities.
      if (e.era === 'modern') opts.clientCapabilities = x.origin.clientCapabilities;
      if (method === 'tasks/result') {
        // Blocks until the task is terminal, however long that is; the agent ends it by cancelling.
        opts.timeoutMs = 0;
        // Input the task needs (elicitation, sampling) arrives as server->client requests on this call.
        const ask = askAgent(x);
        opts.onServerRequest = ask;
        opts.relayKey = x.origin.session?.id ?? `principal:${x.principal.id}`;
        // Upstream requests that name this task but reach the gateway unattributed (stdio, GET stream,
        // several agents' calls in flight) are routed here by the task they name.
        endWait = gw.tasks.awaitResult(e, ask);
      }
      let out: MethodOutcome;
      try {
        out = await forward(gw, x, x.params, opts);
      } finally {
        endWait?.();
      }
      // The upstream no longer knows it (expired there, or the upstream restarted): stop routing it.
      if (method === 'tasks/get' && 'upstreamError' in out && out.upstreamError.code === -32602) gw.tasks.forget(e);
      return out;
    },
  };
}

export const tasksGet: MethodHandler = routed('tasks/get');
export const tasksResult: MethodHandler = routed('tasks/result');
export const tasksCancel: MethodHandler = routed('tasks/cancel');
export const tasksUpdate: MethodHandler = routed('tasks/update');

/**
 * 2025-era tasks/list: the caller's own tasks, oldest first, each one's current state asked of the
 * upstream that owns it. Upstreams' own tasks/list is not used: the gateway is one client to each
 * upstream, so that list holds every agent's tasks and would have to be paged through in full for
 * each caller. A task an upstream has forgotten drops out; one whose upstream fails is left out of
 * this page (and logged), not made up.
 */
export const tasksList: MethodHandler = {
  resolve: resolveFor('tasks/list'),
  async handle(gw, x): Promise<MethodOutcome> {
    const after = decodeCursor(x.params?.cursor);
    if (typeof after !== 'number') return { error: after };
    const limit = Math.min(x.snapshot.config.gateway.pageSize, MAX_LIST_PAGE);
    const entries = gw.tasks.owned(ownerOf(x), after, limit + 1);
    const pageEntries = entries.slice(0, limit);
    const t0 = performance.now();
    const states = await mapLimited(pageEntries, LIST_CONCURRENCY, (e) => currentState(gw, x, e));
    x.upstreamMs = (x.upstreamMs ?? 0) + performance.now() - t0;
    const result: Record<string, unknown> = { tasks: states.filter((t) => t !== undefined) };
    if (entries.length > limit) result.nextCursor = encodeCursor(pageEntries.at(-1)!.seq);
    return { result };
  },
};

async function currentState(gw: Gateway, x: Exchange, e: TaskEntry): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await gw.router.call(x.snapshot, e.upstream, 'tasks/get', { taskId: e.taskId }, { signal: x.signal });
    if ('error' in res) {
      if (res.error.code === -32602) gw.tasks.forget(e);
      else gw.log.warn({ upstream: e.upstream, taskId: e.taskId, code: res.error.code, message: res.error.message }, 'tasks/list: upstream refused tasks/get; task left out of the page');
      return undefined;
    }
    const task: Record<string, unknown> = {};
    for (const k of TASK_STATUS_FIELDS) if (res.result[k] !== undefined) task[k] = res.result[k];
    return typeof task.taskId === 'string' && typeof task.status === 'string' ? task : undefined;
  } catch (err) {
    if (!x.signal.aborted) gw.log.warn({ upstream: e.upstream, taskId: e.taskId, err: err instanceof GatewayFault ? err.error : err }, 'tasks/list: upstream unreachable; task left out of the page');
    return undefined;
  }
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// Cursors carry the creation sequence of the last task listed, so tasks that expire or are forgotten
// between pages shift nothing.
function encodeCursor(seq: number): string {
  return Buffer.from(`tasks:${seq}`).toString('base64url');
}

function decodeCursor(cursor: unknown): number | GatewayError {
  if (cursor === undefined) return 0;
  if (typeof cursor !== 'string') return gatewayError('invalid_cursor', 'Invalid params: cursor must be a string');
  const m = /^tasks:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return m === null ? gatewayError('invalid_cursor', 'Invalid params: invalid cursor for tasks/list') : Number(m[1]);
}

/**
 * The task capability the gateway declares to an agent of `era`: only when a connected upstream of the
 * same era serves tasks (tasks are routed, not translated across eras). 2025: `tasks` with `list` (the
 * gateway lists per owner itself), `cancel` when an upstream cancels, and task-augmented tools/call.
 * 2026-07-28: the extension under `extensions`. Merge the fragment into the capabilities object.
 */
export function taskCapabilities(gw: Gateway, era: Era | undefined): Record<string, unknown> {
  let tools = false;
  let cancel = false;
  for (const h of gw.registry.handles()) {
    const s = h.session;
    if (s === undefined || s.era !== (era ?? 'legacy')) continue;
    if (era === 'modern') {
      if (declaresTasksExtension(s.capabilities)) return { extensions: { [TASKS_EXTENSION]: {} } };
      continue;
    }
    const t = s.capabilities.tasks as { cancel?: unknown; requests?: { tools?: { call?: unknown } } } | undefined;
    if (t === null || typeof t !== 'object' || t.requests?.tools?.call === undefined) continue;
    tools = true;
    if (t.cancel !== undefined) cancel = true;
  }
  if (!tools) return {};
  return { tasks: { list: {}, ...(cancel ? { cancel: {} } : {}), requests: { tools: { call: {} } } } };
}

/**
 * -32021 for a 2026-07-28 agent that calls a tool requiring task execution without declaring the
 * tasks extension (SEP-2663), whatever era the upstream speaks. Undefined when the call may proceed.
 */
export function requiredTaskError(gw: Gateway, x: Exchange): GatewayError | undefined {
  if (x.origin.era !== 'modern' || x.target?.kind !== 'tool' || x.target.name === undefined) return undefined;
  if (declaresTasksExtension(x.origin.clientCapabilities)) return undefined;
  const def = gw.registry.catalog.toolIndex.get(x.target.name)?.def;
  const execution = def?.execution as { taskSupport?: unknown } | undefined;
  if (execution?.taskSupport !== 'required') return undefined;
  return missingExtension(`tool "${x.target.name}"`);
}

// Retries of failed attempts, only when repeating cannot do harm: the failure happened before the
// request reached the upstream (NotSentFault), or the call is idempotent. Never a call the upstream
// answered (JSON-RPC errors resolve, they never reach here), never after the caller gave up, never a
// long-lived request or anything about tasks. Attempts are counted here (the stats' failures and
// timeouts); the breaker outside judges the call as a whole.
import type { Logger } from 'pino';
import type { CompiledUpstream, Snapshot } from '../../config/snapshot.ts';
import { gatewayError } from '../../errors/codes.ts';
import { compileGlobs } from '../../policy/glob.ts';
import { fullJitterDelay } from '../backoff.ts';
import { CancelledFault, NotSentFault } from '../session.ts';
import type { InterceptorFactory, UpstreamCallRequest } from './interceptor.ts';
import { transportFailure } from './faults.ts';
import type { ResilienceStates } from './resilience-state.ts';

/** Methods that change nothing upstream: repeating them is as safe as sending them once. */
const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  'resources/read',
  'prompts/get',
  'completion/complete',
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'ping',
]);

/**
 * Requests that are never repeated, even when nothing was sent: task methods (a task lives on the
 * replica that created it) and task-augmented calls (a repeat would start a second task). Long-lived
 * requests (no deadline: listen streams, a blocking tasks/result) do not even enter the loop.
 */
function neverRetried(req: UpstreamCallRequest): boolean {
  return req.method === 'subscriptions/listen' || req.method.startsWith('tasks/') || (req.method === 'tools/call' && req.params?.task !== undefined);
}

export function retryInterceptor(states: ResilienceStates, log: Logger): InterceptorFactory {
  return (spec: CompiledUpstream, snapshot: Snapshot) => {
    const r = spec.config.retry;
    const state = states.of(spec, snapshot);
    if (r.attempts === 0) {
      // Without retries a call is one attempt, and the breaker (when there is one) counts it.
      if (spec.config.breaker.consecutiveFailures > 0) return undefined;
      const note = (err: unknown): never => {
        state.noteFailure(err);
        throw err;
      };
      // Neither retries nor breaker: counting failures costs one derived promise per call, no closure.
      // Long-lived requests are not counted anywhere (their end is no verdict on the upstream).
      return (next) => (req) => (req.opts.timeoutMs === 0 ? next(req) : next(req).then(undefined, note));
    }
    const upstream = spec.name;
    const idempotentTools = compileGlobs(r.idempotentTools);
    const classes = snapshot.toolClasses;

    // Worked out only once an attempt has failed: the hot path never asks.
    const idempotent = (req: UpstreamCallRequest): boolean => {
      if (req.method !== 'tools/call') return READ_ONLY_METHODS.has(req.method);
      const name = req.params?.name;
      if (typeof name !== 'string') return false;
      return idempotentTools.test(name) || classes.classOf(upstream, name, req.opts.toolDef) === 'read_only';
    };

    return (next) => async (req) => {
      // Long-lived requests are not counted either: their end is no verdict on the upstream.
      if (req.opts.timeoutMs === 0) return next(req);
      for (let attempt = 0; ; attempt++) {
        try {
          return await next(req);
        } catch (err) {
          // Every attempt's failure is counted here: the breaker outside sees only the call's last.
          state.noteFailure(err);
          const f = transportFailure(err);
          // Protocol errors, errors about the request and the caller's cancellation are not transport failures.
          if (f === undefined || attempt >= r.attempts || req.opts.signal?.aborted === true || neverRetried(req)) throw err;
          const unsent = f instanceof NotSentFault;
          if (!unsent && !idempotent(req)) throw err;
          const delayMs = fullJitterDelay(attempt, r.initialDelayMs, r.maxDelayMs);
          log.debug({ upstream, method: req.method, tool: req.method === 'tools/call' ? req.params?.name : undefined, attempt: attempt + 1, of: r.attempts, delayMs, unsent, err: f.message }, 'retrying upstream call');
          // A pooled target says where the attempt went: the next one should go elsewhere.
          const replica = req.opts.replica;
          if (replica !== undefined) req.opts.avoid = req.opts.avoid === undefined ? [replica] : [...req.opts.avoid, replica];
          await pause(delayMs, req, upstream);
          state.retries++;
        }
      }
    };
  };
}

/** Waits `ms`, or rejects as the session would once the caller's signal aborts. */
function pause(ms: number, req: UpstreamCallRequest, upstream: string): Promise<void> {
  const signal = req.opts.signal;
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      const reason: unknown = signal?.reason;
      reject(reason instanceof Error ? reason : new CancelledFault(gatewayError('upstream_failed', `${req.method} on upstream "${upstream}" was cancelled`)));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

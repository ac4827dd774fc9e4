import { compileGlobs, type GlobSet } from '../../policy/glob.ts';
import type { InterceptorFactory } from './interceptor.ts';

interface ToolDeadline {
  readonly match: GlobSet;
  readonly ms: number;
  /** Names the setting in the timeout error: `toolTimeoutsMs "slow*"`. */
  readonly source: string;
}

/** Tool names seen per chain; upstream tool lists are finite, the bound only guards against odd callers. */
const MEMO_LIMIT = 4096;

/**
 * The deadline of one attempt: for `tools/call`, the first `toolTimeoutsMs` entry (written order) whose
 * glob matches the upstream's own tool name, else `timeoutMs`; never more than `maxTimeoutMs`. With
 * `progressResetsTimeout`, progress restarts it up to `maxTimeoutMs` from the attempt's start. The
 * session enforces it and cancels the upstream work when it passes. A tighter deadline already on the
 * call wins, and 0 (long-lived requests such as `subscriptions/listen`) stays 0.
 */
export const timeoutInterceptor: InterceptorFactory = (spec) => {
  const cfg = spec.config;
  const hard = cfg.maxTimeoutMs;
  const reset = cfg.progressResetsTimeout;
  const base = Math.min(cfg.timeoutMs, hard);
  const baseSource = cfg.timeoutMs > hard ? 'maxTimeoutMs' : 'timeoutMs';
  const tools: ToolDeadline[] = Object.entries(cfg.toolTimeoutsMs).map(([glob, ms]) => ({
    match: compileGlobs([glob]),
    ms: Math.min(ms, hard),
    source: ms > hard ? 'maxTimeoutMs' : `toolTimeoutsMs ${JSON.stringify(glob)}`,
  }));
  // A tool's deadline is looked up once per name, not matched against every glob on every call.
  const memo = new Map<string, ToolDeadline | null>();
  const toolDeadline = (name: string): ToolDeadline | undefined => {
    let hit = memo.get(name);
    if (hit === undefined) {
      hit = tools.find((t) => t.match.test(name)) ?? null;
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(name, hit);
    }
    return hit ?? undefined;
  };

  return (next) => (req) => {
    // opts is made fresh for each call by its caller, so setting its fields costs no copy; a retry
    // passes the same opts again and gets the same values.
    const opts = req.opts;
    let limit = base;
    let source = baseSource;
    if (tools.length > 0 && req.method === 'tools/call') {
      const name = req.params?.name;
      const t = typeof name === 'string' ? toolDeadline(name) : undefined;
      if (t !== undefined) {
        limit = t.ms;
        source = t.source;
      }
    }
    const given = opts.timeoutMs;
    if (given === undefined || given > limit) {
      opts.timeoutMs = limit;
      opts.timeoutSource = source;
      if (reset) {
        opts.resetOnProgress = true;
        opts.hardTimeoutMs = hard;
      }
    }
    return next(req);
  };
};

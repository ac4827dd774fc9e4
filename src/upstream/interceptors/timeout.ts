import type { InterceptorFactory } from './interceptor.ts';

/**
 * The upstream's configured deadline for one attempt. The session enforces it (and cancels the
 * upstream work when it passes); a tighter deadline already on the call wins.
 */
export const timeoutInterceptor: InterceptorFactory = (spec) => {
  const limit = spec.config.timeoutMs;
  return (next) => (req) => {
    const t = req.opts.timeoutMs;
    if (t !== undefined && t <= limit) return next(req);
    return next({ ...req, opts: { ...req.opts, timeoutMs: limit } });
  };
};

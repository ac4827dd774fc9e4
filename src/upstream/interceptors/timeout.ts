import type { InterceptorFactory } from './interceptor.ts';

/**
 * The upstream's configured deadline for one attempt. The session enforces it (and cancels the
 * upstream work when it passes); a tighter deadline already on the call wins.
 */
export const timeoutInterceptor: InterceptorFactory = (spec) => {
  const limit = spec.config.timeoutMs;
  return (next) => (req) => {
    // opts is made fresh for each call by its caller, so setting the field costs no copy.
    const t = req.opts.timeoutMs;
    if (t === undefined || t > limit) req.opts.timeoutMs = limit;
    return next(req);
  };
};

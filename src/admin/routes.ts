import type { Principal } from '../pipeline/principal.ts';
import type { Gateway } from '../core/gateway.ts';

/** One admin API request after authentication: who, the route's path parameters, the parsed JSON body. */
export interface AdminRequest {
  readonly gw: Gateway;
  readonly principal: Principal;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: unknown;
}

export interface AdminResponse {
  readonly status: number;
  readonly body: unknown;
  /** Sent instead of `body` when present: a body written as it is produced (an audit export). */
  readonly stream?: AdminStream;
}

export interface AdminStream {
  readonly contentType: string;
  /** Writes the body through `write`, which resolves when the client can take more and throws once it has gone. */
  readonly pipe: (write: (chunk: string) => Promise<void> | void) => Promise<void>;
}

export interface AdminRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** `/v1/keys/:id/rotate`: segments starting with `:` are parameters. */
  readonly path: string;
  /** What the route does, for the audit log line. */
  readonly action: string;
  readonly handle: (r: AdminRequest) => Promise<AdminResponse>;
}

/** A problem with the admin request itself: its status and a message for the caller. */
export class AdminError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

interface Compiled {
  readonly route: AdminRoute;
  readonly segments: readonly string[];
}

/** Matches paths against the route table (compiled once); tells "no such path" from "wrong method". */
export class AdminRouter {
  readonly #routes: Compiled[];

  constructor(routes: readonly AdminRoute[]) {
    this.#routes = routes.map((route) => ({ route, segments: route.path.split('/').filter(Boolean) }));
  }

  match(method: string, path: string): { route: AdminRoute; params: Record<string, string> } | { allowed: string[] } | undefined {
    const parts = path.split('/').filter(Boolean);
    const allowed: string[] = [];
    for (const c of this.#routes) {
      const params = matchSegments(c.segments, parts);
      if (params === undefined) continue;
      if (c.route.method === method) return { route: c.route, params };
      allowed.push(c.route.method);
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }
}

function matchSegments(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    let v: string;
    try {
      v = decodeURIComponent(parts[i]!);
    } catch {
      return undefined;
    }
    if (p.startsWith(':')) params[p.slice(1)] = v;
    else if (p !== v) return undefined;
  }
  return params;
}

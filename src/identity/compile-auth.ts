import type { AuthMethodConfig } from '../config/schema/auth.ts';
import { configProblem, type ConfigProblem } from '../config/errors.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { ConfigPath } from '../config/locate.ts';
import type { ListenerAuth, UserAssertionCheck } from './authenticator.ts';
import type { AuthMethod } from './method.ts';
import { createAnonymousMethod } from './methods/anonymous.ts';
import { createApiKeyMethod } from './methods/api-key.ts';
import { createGatewayTokenMethod } from './methods/gateway-token.ts';
import { createJwtMethod, verifyUserAssertion } from './methods/jwt.ts';
import { createMtlsMethod } from './methods/mtls.ts';

/** Every listener's authentication, compiled once per snapshot. */
export interface CompiledAuth {
  readonly methods: ReadonlyMap<string, AuthMethod>;
  readonly data: ListenerAuth;
  readonly stdio: ListenerAuth;
  readonly admin: ListenerAuth | undefined;
}

function build(cfg: AuthMethodConfig): AuthMethod {
  switch (cfg.type) {
    case 'api_key':
      return createApiKeyMethod(cfg);
    case 'jwt':
      return createJwtMethod(cfg);
    case 'gateway_token':
      return createGatewayTokenMethod(cfg);
    case 'mtls':
      return createMtlsMethod(cfg);
    case 'anonymous':
      return createAnonymousMethod(cfg);
  }
}

/**
 * Builds the methods and each listener's ordered list, and refuses configurations that would be
 * unsafe or could never work: unknown or repeated names, admin keys on the data plane, anonymous
 * admin, client certificates without a client CA, a user assertion checked by a non-JWT method.
 */
export function compileAuth(loaded: LoadedConfig, problems: ConfigProblem[]): CompiledAuth {
  const cfg = loaded.config;
  const methods = new Map<string, AuthMethod>();
  const configs = new Map<string, AuthMethodConfig>();
  cfg.auth.methods.forEach((m, i) => {
    if (methods.has(m.name)) return void problems.push(configProblem(loaded, ['auth', 'methods', i, 'name'], `duplicate authentication method name "${m.name}"`));
    try {
      methods.set(m.name, build(m));
      configs.set(m.name, m);
    } catch (err) {
      // Methods may say which of their keys is wrong (e.g. an mtls pattern): point there.
      const rel = err !== null && typeof err === 'object' && Array.isArray((err as { path?: unknown }).path) ? ((err as { path: (string | number)[] }).path) : [];
      problems.push(configProblem(loaded, ['auth', 'methods', i, ...rel], `authentication method "${m.name}": ${err instanceof Error ? err.message : String(err)}`));
    }
  });

  const resolve = (listener: ListenerAuth['listener'], names: readonly string[], at: ConfigPath, tls: { clientCa?: string; clientCert: string } | undefined): AuthMethod[] => {
    const out: AuthMethod[] = [];
    const seen = new Set<string>();
    names.forEach((name, j) => {
      const here = [...at, j];
      const m = methods.get(name);
      const c = configs.get(name);
      if (seen.has(name)) return void problems.push(configProblem(loaded, here, `"${name}" is listed twice`));
      seen.add(name);
      if (m === undefined || c === undefined) {
        if (!cfg.auth.methods.some((x) => x.name === name)) {
          const known = [...methods.keys()];
          problems.push(configProblem(loaded, here, `unknown authentication method "${name}"${known.length > 0 ? ` (defined: ${known.join(', ')})` : ' (none is defined under auth.methods)'}`));
        }
        return;
      }
      if (c.type === 'api_key' && (c.kind === 'admin') !== (listener === 'admin')) {
        problems.push(configProblem(loaded, here, listener === 'admin' ? `"${name}" accepts agent keys; the admin listener takes only api_key methods with kind: admin` : `"${name}" accepts admin keys; they are for the admin listener only`));
      }
      if (c.type === 'anonymous' && listener === 'admin') problems.push(configProblem(loaded, here, 'the admin listener never admits anonymous callers'));
      if (c.type === 'mtls') {
        if (listener === 'stdio') problems.push(configProblem(loaded, here, 'stdio has no TLS: client certificates cannot be used there'));
        else if (tls?.clientCa === undefined || tls.clientCert === 'none') {
          const where = listener === 'admin' ? 'admin.listen.tls' : 'gateway.listen.tls';
          problems.push(configProblem(loaded, here, `"${name}" reads client certificates: set ${where}.clientCa (and clientCert: request or require)`));
        }
      }
      // Anonymous admits everyone: anything listed after it could never run.
      if (out.some((x) => x.type === 'anonymous')) problems.push(configProblem(loaded, here, `"${name}" comes after an anonymous method and would never be tried`));
      out.push(m);
    });
    return out;
  };

  const g = cfg.gateway;
  const dataMethods = resolve('data', g.listen.auth, ['gateway', 'listen', 'auth'], g.listen.tls);
  const stdioMethods = resolve('stdio', g.stdio.auth, ['gateway', 'stdio', 'auth'], undefined);
  if (g.listen.auth.length === 0 && g.stdio.auth.length === 0) {
    problems.push(
      configProblem(
        loaded,
        ['gateway', 'listen'],
        'gateway.listen.auth is empty: list the authentication methods agents use (from auth.methods), or an `anonymous` method to serve without credentials',
      ),
    );
  }

  let userAssertion: UserAssertionCheck | undefined;
  const ua = g.listen.userAssertion;
  if (ua !== undefined) {
    const m = methods.get(ua.method);
    if (configs.get(ua.method)?.type !== 'jwt' || m === undefined) {
      problems.push(configProblem(loaded, ['gateway', 'listen', 'userAssertion', 'method'], `"${ua.method}" must name a jwt method of auth.methods`));
    } else {
      const check: UserAssertionCheck = { header: ua.header.toLowerCase(), required: ua.required, verify: (token, env) => verifyUserAssertion(m, token, env) };
      userAssertion = Object.freeze(check);
    }
  }

  let admin: ListenerAuth | undefined;
  const a = cfg.admin;
  if (a !== undefined) {
    const adminMethods = resolve('admin', a.auth, ['admin', 'auth'], a.listen.tls);
    if (a.auth.length === 0) problems.push(configProblem(loaded, ['admin'], 'admin.auth is empty: list the methods admins use (an api_key method with kind: admin, or a jwt method whose tokens carry admin.role)'));
    if (a.listen.port !== 0 && a.listen.port === g.listen.port) problems.push(configProblem(loaded, ['admin', 'listen', 'port'], `the admin listener needs its own port (${a.listen.port} is the data plane's)`));
    admin = listenerAuth('admin', adminMethods, undefined, a.role);
  }

  return Object.freeze({
    methods,
    data: listenerAuth('data', dataMethods, userAssertion, undefined),
    stdio: listenerAuth('stdio', stdioMethods, undefined, undefined),
    admin,
  });
}

function listenerAuth(listener: ListenerAuth['listener'], methods: AuthMethod[], userAssertion: UserAssertionCheck | undefined, requiredRole: string | undefined): ListenerAuth {
  return Object.freeze({ listener, methods: Object.freeze(methods), bearer: methods.some((m) => m.bearer), userAssertion, requiredRole });
}

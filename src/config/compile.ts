import { createHash } from 'node:crypto';
import { compileAuth } from '../identity/compile-auth.ts';
import { compilePolicy } from '../policy/compile-policy.ts';
import { policyFilter } from '../policy/filter.ts';
import { compileTraffic } from '../traffic/limits/compile-traffic.ts';
import { limitsFilter } from '../traffic/limits/filter.ts';
import { compileToolClasses } from '../policy/tool-class.ts';
import { compileRedaction, redactionIssues } from '../audit/redact.ts';
import { cacheConfigIssues } from '../traffic/cache/config-issues.ts';
import { PROBE_PATHS, probePathConflicts } from '../edge/health.ts';
import { PHASES } from '../pipeline/phases.ts';
import type { Filter } from '../pipeline/filter.ts';
import { ConfigError, configProblem, type ConfigProblem } from './errors.ts';
import type { LoadedConfig } from './load.ts';
import type { CompiledUpstream, Snapshot } from './snapshot.ts';
import type { UpstreamConfig } from './schema/upstream.ts';

let generations = 0;

/**
 * The full compile: everything that can be checked before serving is checked here, so that
 * `gatehouse validate` and a hot reload refuse exactly what serving would trip over.
 */
export function compileConfig(loaded: LoadedConfig): Snapshot {
  const problems: ConfigProblem[] = [];
  const cfg = loaded.config;
  const byName = new Map<string, CompiledUpstream>();
  const prefixes = new Map<string, string>();
  const upstreams: CompiledUpstream[] = [];

  cfg.upstreams.forEach((u, i) => {
    if (byName.has(u.name)) {
      problems.push(configProblem(loaded, ['upstreams', i, 'name'], `duplicate upstream name "${u.name}"`));
      return;
    }
    const prefix = u.passthroughNames ? undefined : (u.prefix ?? u.name);
    if (prefix !== undefined) {
      const other = prefixes.get(prefix);
      if (other !== undefined) {
        problems.push(configProblem(loaded, ['upstreams', i, u.prefix === undefined ? 'name' : 'prefix'], `prefix "${prefix}" is already used by upstream "${other}"`));
      }
      prefixes.set(prefix, u.name);
    } else if (u.prefix !== undefined) {
      problems.push(configProblem(loaded, ['upstreams', i, 'prefix'], 'prefix has no effect with passthroughNames: true'));
    }
    if (u.restart.maxDelayMs < u.restart.initialDelayMs) {
      problems.push(configProblem(loaded, ['upstreams', i, 'restart', 'maxDelayMs'], 'maxDelayMs must be at least initialDelayMs'));
    }
    // A deadline above the hard maximum would be cut silently: say so where it is written.
    if (u.timeoutMs > u.maxTimeoutMs) problems.push(configProblem(loaded, ['upstreams', i, 'timeoutMs'], `timeoutMs (${u.timeoutMs}) is above maxTimeoutMs (${u.maxTimeoutMs})`));
    for (const [glob, ms] of Object.entries(u.toolTimeoutsMs)) {
      if (ms > u.maxTimeoutMs) problems.push(configProblem(loaded, ['upstreams', i, 'toolTimeoutsMs', glob], `${ms} is above maxTimeoutMs (${u.maxTimeoutMs})`));
    }
    if (u.retry.maxDelayMs < u.retry.initialDelayMs) problems.push(configProblem(loaded, ['upstreams', i, 'retry', 'maxDelayMs'], 'maxDelayMs must be at least initialDelayMs'));
    if (u.transport !== 'stdio') {
      const seen = new Set([u.url]);
      u.replicaUrls.forEach((r, j) => {
        if (seen.has(r)) problems.push(configProblem(loaded, ['upstreams', i, 'replicaUrls', j], `${r} is already an endpoint of this upstream`));
        seen.add(r);
      });
    }
    const c: CompiledUpstream = Object.freeze({ name: u.name, config: u, identity: upstreamIdentity(u, loaded.dir), prefix, dir: loaded.dir });
    byName.set(u.name, c);
    upstreams.push(c);
  });

  const listen = cfg.gateway.listen;
  for (const [i, o] of cfg.gateway.allowedOrigins.entries()) {
    if (!/^https?:\/\/[^/\s]+$/.test(o)) {
      problems.push(configProblem(loaded, ['gateway', 'allowedOrigins', i], `"${o}" is not an origin (scheme://host[:port], no path)`));
    }
  }
  for (const c of probePathConflicts(cfg.gateway)) problems.push(configProblem(loaded, ['gateway', ...c.path], c.message));
  // The metrics endpoint shares the admin listener with the probes and the admin API: it must hide neither.
  const metricsPath = cfg.telemetry.metrics.path;
  if ((PROBE_PATHS as readonly string[]).includes(metricsPath) || metricsPath === '/v1' || metricsPath.startsWith('/v1/')) {
    problems.push(configProblem(loaded, ['telemetry', 'metrics', 'path'], `${metricsPath} is taken on the admin listener (probes ${PROBE_PATHS.join(', ')} and the admin API under /v1/); choose another path`));
  }
  if (!isLoopback(listen.host) && cfg.gateway.allowedHosts.length === 0) {
    problems.push(configProblem(loaded, ['gateway', 'listen', 'host'], `listening on ${listen.host} needs gateway.allowedHosts (the Host names agents use), or ["*"] to accept any`));
  }

  const auth = compileAuth(loaded, problems);
  // Tokens name the gateway by URL: behind a non-loopback address that URL must be said, not guessed.
  if (!isLoopback(listen.host) && cfg.gateway.publicUrl === undefined && auth.data.methods.some((m) => m.type === 'jwt' || m.type === 'gateway_token')) {
    problems.push(configProblem(loaded, ['gateway', 'listen', 'host'], `listening on ${listen.host} with token authentication needs gateway.publicUrl (the URL agents use; tokens must name it as audience)`));
  }

  const policy = compilePolicy(loaded, problems);
  const traffic = compileTraffic(loaded, problems);
  for (const issue of redactionIssues(cfg.audit.redact)) problems.push(configProblem(loaded, ['audit', 'redact', ...issue.path], issue.message));
  for (const issue of cacheConfigIssues(cfg.upstreams, cfg.policy?.defaultToolClass ?? 'high_risk_write')) problems.push(configProblem(loaded, issue.path, issue.message));

  if (problems.length > 0) throw new ConfigError(problems);

  const filters: Filter[] = [];
  if (policy !== undefined) filters.push(policyFilter(policy));
  if (traffic !== undefined) filters.push(limitsFilter(traffic));
  filters.sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase));

  // Methods hold their own state (key caches); they are frozen shallowly by compileAuth, not deep here.
  const frozen = deepFreeze({
    generation: ++generations,
    file: loaded.file,
    dir: loaded.dir,
    config: cfg,
    upstreams,
    upstreamByName: byName,
    naming: { separator: cfg.gateway.naming.separator, maxLength: cfg.gateway.naming.maxLength },
    filters,
  });
  // The policy's rules are frozen by compilePolicy; its tool-class memo must stay writable, as must
  // the redaction's per-target memo.
  const toolClasses = policy?.classes ?? compileToolClasses(cfg.upstreams, 'high_risk_write');
  const audit = Object.freeze({ redaction: compileRedaction(cfg.audit.redact) });
  return Object.freeze({ ...frozen, auth, policy, toolClasses, audit, traffic });
}

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');
}

/** Only connection-shaping fields count: changing a timeout or a prefix does not restart a server. */
function upstreamIdentity(u: UpstreamConfig, dir: string): string {
  const shape =
    u.transport === 'stdio'
      ? { t: u.transport, command: u.command, args: u.args, env: u.env, cwd: u.cwd, dir }
      : { t: u.transport, url: u.url, headers: u.headers, era: u.transport === 'streamable-http' ? u.era : 'legacy', launch: u.launch, dir };
  return createHash('sha256').update(u.name).update('\0').update(JSON.stringify(shape)).digest('hex').slice(0, 32);
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o) && !(o instanceof Map)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

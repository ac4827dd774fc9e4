// The replicas an upstream's config asks for, each with an identity of its own: a reload that adds or
// removes a replica keeps the others running, and one that changes nothing keeps them all.
import { createHash } from 'node:crypto';
import type { CompiledUpstream } from '../config/snapshot.ts';
import type { ReplicaSpec } from './handle.ts';

/**
 * stdio: `replicas` processes of the same command, keyed by index. streamable-http and sse: `url`, then
 * each of `replicaUrls`, keyed by URL (so reordering or removing one keeps the rest). The first replica's
 * identity is the upstream's own, so a one-replica upstream keeps what was remembered by that identity
 * (its protocol era). A `launch`ed process belongs to the first endpoint, `url`; the further endpoints are
 * servers run elsewhere.
 */
export function replicaSpecs(upstream: CompiledUpstream): ReplicaSpec[] {
  const cfg = upstream.config;
  if (cfg.transport === 'stdio') {
    const out: ReplicaSpec[] = [];
    for (let i = 0; i < cfg.replicas; i++) out.push({ upstream, config: cfg, identity: i === 0 ? upstream.identity : derived(upstream.identity, `#${i}`) });
    return out;
  }
  const out: ReplicaSpec[] = [{ upstream, config: cfg, identity: upstream.identity }];
  const seen = new Map<string, number>([[cfg.url, 1]]);
  for (const url of cfg.replicaUrls) {
    // The same URL twice is two sessions with that endpoint; each needs its own key.
    const n = seen.get(url) ?? 0;
    seen.set(url, n + 1);
    const { launch: _first, ...rest } = cfg;
    out.push({ upstream, config: { ...rest, url }, identity: derived(upstream.identity, n === 0 ? url : `${url}#${n}`) });
  }
  return out;
}

function derived(identity: string, key: string): string {
  return createHash('sha256').update(identity).update('\0').update(key).digest('hex').slice(0, 32);
}

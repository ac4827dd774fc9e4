import type { Snapshot } from '../config/snapshot.ts';
import type { CompiledPolicy } from '../policy/policy.ts';
import { explain } from '../policy/explain.ts';
import { describeProbeIssues, explanationJson, probeInput, probeSchema } from '../policy/probe.ts';
import { AdminError, type AdminRoute } from './routes.ts';

/** The policy of the snapshot in force; a config without one has nothing to show or explain. */
function policyOf(snap: Snapshot, status: 404 | 409): CompiledPolicy {
  if (snap.policy !== undefined) return snap.policy;
  throw new AdminError(status, 'no_policy', 'the current config has no policy section: every authenticated caller may use everything');
}

/**
 * The policy in force and `policy explain` over HTTP. Both read the gateway's current snapshot, so an
 * explanation always matches what the next call would get (and a failed reload shows in `lastReload`).
 */
export const policyRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    path: '/v1/policy',
    action: 'policy.show',
    handle: async (r) => {
      const p = policyOf(r.gw.snapshots.current, 404);
      const last = r.gw.snapshots.lastReload;
      return {
        status: 200,
        body: {
          generation: r.gw.snapshots.generation,
          default: p.defaultEffect,
          shadow: p.shadow,
          timezone: p.zone,
          environment: p.environment ?? null,
          rules: p.rules.map((x) => ({ name: x.name, effect: x.effect, shadow: x.shadow, where: x.where })),
          lastReload: { ok: last.ok, at: last.at.toISOString(), generation: last.generation, error: last.error ?? null },
        },
      };
    },
  },
  {
    method: 'POST',
    path: '/v1/policy/explain',
    action: 'policy.explain',
    handle: async (r) => {
      // Captured once: the probe is placed and judged against one and the same config.
      const snap = r.gw.snapshots.current;
      const parsed = probeSchema.safeParse(r.body ?? {});
      if (!parsed.success) throw new AdminError(400, 'invalid_body', describeProbeIssues(parsed.error).join('; '));
      const p = policyOf(snap, 409);
      const input = probeInput(snap, parsed.data);
      if ('error' in input) throw new AdminError(400, 'invalid_probe', input.error);
      return { status: 200, body: explanationJson(p, input, explain(p, input)) };
    },
  },
];

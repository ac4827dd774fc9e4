/**
 * The fixed order of the exchange pipeline. A filter picks its phase; config order applies only
 * inside a phase.
 */
export const PHASES = [
  // authenticate first: every later phase reads the principal it establishes.
  'authenticate',
  // authorize before admit so that calls a caller may not make never consume its quota.
  'authorize',
  // admit (limits) before approve so that calls over quota never page a human.
  'admit',
  // approve before guard so that argument guards see the call exactly as it was approved.
  'approve',
  // guard last on the way in: redaction and inspection right before the call leaves the gateway.
  'guard',
] as const;

export type Phase = (typeof PHASES)[number];

export function isPhase(s: string): s is Phase {
  return (PHASES as readonly string[]).includes(s);
}

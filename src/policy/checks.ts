import { BlockList, isIP } from 'node:net';
import type { MatchConfig } from '../config/schema/policy.ts';
import { compileGlobs } from './glob.ts';
import type { CelContext } from './cel.ts';
import type { PolicyInput } from './types.ts';

/** Per-decision scratch: the CEL variables are built at most once, and only if a condition is reached. */
export interface EvalState {
  cel: CelContext | undefined;
  readonly zone: string;
}

/**
 * One matcher of a rule. `test` is the hot path; `why` explains a miss for `policy explain`.
 * A check that `usesArgs` cannot be decided while listing, when arguments are unknown.
 */
export interface Check {
  readonly field: string;
  readonly usesArgs: boolean;
  test(input: PolicyInput, st: EvalState): boolean;
  why(input: PolicyInput): string;
}

const list = (v: readonly string[]) => `[${v.join(', ')}]`;
const shown = (v: string | undefined) => (v === undefined ? '(none)' : `"${v}"`);

function globCheck(field: string, globs: readonly string[], pick: (i: PolicyInput) => string | undefined, what: string): Check {
  const g = compileGlobs(globs);
  return {
    field,
    usesArgs: false,
    test: (i) => {
      const v = pick(i);
      return v !== undefined && g.test(v);
    },
    why: (i) => `${what} ${shown(pick(i))} is not one of ${list(globs)}`,
  };
}

function nameCheck(field: string, globs: readonly string[], kind: PolicyInput['target']['kind']): Check {
  const g = compileGlobs(globs);
  return {
    field,
    usesArgs: false,
    test: (i) => i.target.kind !== kind || g.test(i.target.name),
    why: (i) => `${kind} "${i.target.name}" is not one of ${list(globs)}`,
  };
}

function anyOfCheck(field: string, wanted: readonly string[], pick: (i: PolicyInput) => readonly string[], what: string): Check {
  const set = new Set(wanted);
  return {
    field,
    usesArgs: false,
    test: (i) => {
      const have = pick(i);
      for (let k = 0; k < have.length; k++) if (set.has(have[k]!)) return true;
      return false;
    },
    why: (i) => `${what} ${list(pick(i))} include none of ${list(wanted)}`,
  };
}

function setCheck(field: string, wanted: readonly string[], pick: (i: PolicyInput) => string | undefined, what: string): Check {
  const set = new Set(wanted);
  return {
    field,
    usesArgs: false,
    test: (i) => {
      const v = pick(i);
      return v !== undefined && set.has(v);
    },
    why: (i) => `${what} ${shown(pick(i))} is not one of ${list(wanted)}`,
  };
}

/** Addresses as Node reports them: an IPv4 peer on a dual-stack socket arrives as `::ffff:a.b.c.d`. */
function plainAddress(a: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const v4 = a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
  const fam = isIP(v4);
  return fam === 4 ? { address: v4, family: 'ipv4' } : fam === 6 ? { address: v4, family: 'ipv6' } : undefined;
}

/** Parses `clients` entries; returns the problems by index. */
export function clientCheck(entries: readonly string[], problems: { index: number; message: string }[]): Check {
  const bl = new BlockList();
  entries.forEach((e, index) => {
    const [addr, bits, extra] = e.split('/');
    const fam = isIP(addr ?? '');
    const max = fam === 4 ? 32 : 128;
    if (fam === 0 || extra !== undefined) return problems.push({ index, message: `"${e}" is not an IP address or CIDR range` });
    if (bits === undefined) return bl.addAddress(addr!, fam === 4 ? 'ipv4' : 'ipv6');
    const n = Number(bits);
    if (!/^\d{1,3}$/.test(bits) || n > max) return problems.push({ index, message: `"${e}": prefix length must be 0-${max}` });
    bl.addSubnet(addr!, n, fam === 4 ? 'ipv4' : 'ipv6');
  });
  return {
    field: 'clients',
    usesArgs: false,
    test: (i) => {
      const a = i.clientAddress === undefined ? undefined : plainAddress(i.clientAddress);
      return a !== undefined && bl.check(a.address, a.family);
    },
    why: (i) => `client address ${shown(i.clientAddress)} is not in ${list(entries)}`,
  };
}

/**
 * The matchers that depend only on the method and the target (kind, upstream, name, class): their
 * result is the same for every call to that target, so the engine runs them once per target and
 * keeps the rules that pass (see candidates.ts).
 */
export function targetChecks(w: MatchConfig): Check[] {
  const out: Check[] = [];
  if (w.methods) out.push(setCheck('methods', w.methods, (i) => i.method, 'method'));
  // A rule naming tools and prompts holds each name list to its own kind (the rule's kinds were checked first).
  if (w.tools) out.push(nameCheck('tools', w.tools, 'tool'));
  if (w.prompts) out.push(nameCheck('prompts', w.prompts, 'prompt'));
  if (w.resources) out.push(nameCheck('resources', w.resources, 'resource'));
  if (w.classes) out.push(setCheck('classes', w.classes, (i) => i.target.class, 'tool class'));
  if (w.upstreams) out.push(globCheck('upstreams', w.upstreams, (i) => i.target.upstream, 'upstream'));
  return out;
}

/** The matchers of `when` on the principal, environment and annotations: sets and globs, cheapest first. */
export function callerChecks(w: MatchConfig): Check[] {
  const out: Check[] = [];
  if (w.agents) out.push(globCheck('agents', w.agents, (i) => i.principal.agent, 'agent'));
  if (w.users) out.push(globCheck('users', w.users, (i) => i.principal.user, 'user'));
  if (w.tenants) out.push(globCheck('tenants', w.tenants, (i) => i.principal.tenant, 'tenant'));
  if (w.roles) out.push(anyOfCheck('roles', w.roles, (i) => i.principal.roles, 'roles'));
  if (w.groups) out.push(anyOfCheck('groups', w.groups, (i) => i.principal.groups, 'groups'));
  if (w.scopes) out.push(anyOfCheck('scopes', w.scopes, (i) => i.principal.scopes, 'scopes'));
  if (w.authMethods) {
    const set = new Set(w.authMethods);
    out.push({
      field: 'authMethods',
      usesArgs: false,
      test: (i) => set.has(i.principal.authMethod) || set.has(i.principal.authSource),
      why: (i) => `authentication ${i.principal.authMethod} ("${i.principal.authSource}") is not one of ${list(w.authMethods!)}`,
    });
  }
  if (w.environments) out.push(setCheck('environments', w.environments, (i) => i.environment, 'environment'));
  if (w.annotations) {
    const want = Object.entries(w.annotations);
    out.push({
      field: 'annotations',
      usesArgs: false,
      test: (i) => {
        const a = i.target.annotations;
        return a !== undefined && want.every(([k, v]) => a[k] === v);
      },
      why: (i) =>
        i.target.annotations === undefined
          ? 'the tool has no annotations from a trusted upstream'
          : `annotations ${JSON.stringify(i.target.annotations)} do not have ${JSON.stringify(w.annotations)}`,
    });
  }
  return out;
}

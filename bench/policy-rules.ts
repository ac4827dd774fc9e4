// A generated policy of realistic shape for the benchmarks: `n` rules, none of which decides the bench
// agent's echo call except the last, so every call walks the whole list (deny is the only early stop).

/** Rules as they would be written in config. */
export function benchRules(n: number): Record<string, unknown>[] {
  const rules: Record<string, unknown>[] = [];
  for (let i = 0; i < n - 1; i++) {
    switch (i % 5) {
      case 0:
        rules.push({ name: `deny-svc-${i}`, effect: 'deny', message: `svc${i} is retired`, when: { tools: [`svc${i}__*`] } });
        break;
      case 1:
        rules.push({ name: `role-read-${i}`, effect: 'allow', when: { roles: [`role-${i}`], tools: [`svc${i}__get_*`, `svc${i}__list_*`] } });
        break;
      case 2:
        rules.push({ name: `approve-writes-${i}`, effect: 'require_approval', when: { upstreams: ['echo'], classes: ['high_risk_write'], agents: [`agent-${i}-*`] } });
        break;
      case 3:
        // One in four of these reaches its CEL condition on the echo call (tools match, agents are not checked).
        rules.push(
          i % 20 === 3
            ? { name: `cel-guard-${i}`, effect: 'deny', when: { tools: ['echo'], condition: `size(args.message) > ${100_000 + i}` } }
            : { name: `tenant-${i}`, effect: 'allow', when: { agents: [`team${i}-*`], condition: `principal.tenant == "t${i}"` } },
        );
        break;
      default:
        rules.push({ name: `office-hours-${i}`, effect: 'allow', when: { environments: ['staging'], tools: ['*__read_*'], time: { days: ['mon-fri'], from: '09:00', to: '17:00' } } });
    }
  }
  rules.push({ name: 'bench-echo', effect: 'allow', when: { agents: ['bench'], tools: ['echo'] } });
  return rules;
}

export function benchPolicy(n: number): Record<string, unknown> {
  return { default: 'deny', rules: benchRules(n) };
}

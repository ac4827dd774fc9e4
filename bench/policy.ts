// Per-decision cost of the policy engine, in process: `npm run bench:policy` (BENCH_POLICY rules, default 200).
// Prints figures; asserts nothing. The end-to-end cost shows in `BENCH_POLICY=200 npm run bench`.
import { stringify } from 'yaml';
import { compileConfig } from '../src/config/compile.ts';
import { parseConfigText } from '../src/config/load.ts';
import { makePrincipal } from '../src/pipeline/principal.ts';
import { candidatesFor } from '../src/policy/candidates.ts';
import { decide, visible } from '../src/policy/decide.ts';
import type { PolicyInput, PolicyTarget } from '../src/policy/types.ts';
import { benchPolicyRules } from './gateway.ts';
import { benchPolicy } from './policy-rules.ts';

const n = benchPolicyRules(process.env['BENCH_POLICY'] ?? '200') || 200;
const config = {
  version: 1,
  gateway: { listen: { auth: ['a'] } },
  auth: { methods: [{ name: 'a', type: 'anonymous', agent: 'bench' }] },
  upstreams: [{ name: 'echo', transport: 'streamable-http', url: 'http://127.0.0.1:9/mcp', passthroughNames: true }],
  policy: benchPolicy(n),
};
const t0 = performance.now();
const snap = compileConfig(parseConfigText(stringify(config), '/bench/policy.yaml'));
const compileMs = performance.now() - t0;
const p = snap.policy!;

const principal = makePrincipal({ authMethod: 'anonymous', authSource: 'a', agent: 'bench', roles: ['dev'], groups: [], scopes: [] });
const echo: PolicyTarget = { kind: 'tool', upstream: 'echo', name: 'echo', upstreamName: 'echo', class: p.classes.classOf('echo', 'echo', undefined) };
const input = (target: PolicyTarget, args: PolicyInput['args']): PolicyInput => ({
  principal,
  method: 'tools/call',
  target,
  args,
  environment: 'prod',
  clientAddress: '127.0.0.1',
  now: Date.now(),
});

function time(label: string, iterations: number, fn: () => unknown): void {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) fn(); // warm-up: JIT, caches
  const start = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const wall = performance.now() - w0;
  const cpu = process.cpuUsage(start);
  const ns = (wall * 1e6) / iterations;
  const cpuNs = ((cpu.user + cpu.system) * 1e3) / iterations;
  console.log(`${label.padEnd(52)} ${ns.toFixed(0).padStart(7)} ns/op wall ${cpuNs.toFixed(0).padStart(7)} ns/op cpu`);
}

console.log(`policy: ${p.rules.length} rules, compiled in ${compileMs.toFixed(1)} ms (once per config load)`);
const allowed = input(echo, { message: 'hello' });
const d = decide(p, allowed);
console.log(`echo call decision: ${d.effect} by ${d.rule ?? '(default)'}; ${candidatesFor(p, allowed).length} of ${p.rules.length} rules can apply to the echo tool (${p.rules.filter((r) => r.checks.some((c) => c.field === 'condition')).length} have CEL conditions)`);
time('decide: echo call (candidate rules, 10 CEL conditions)', 200_000, () => decide(p, allowed));
const retired: PolicyTarget = { kind: 'tool', upstream: 'echo', name: 'svc0__drop', upstreamName: 'svc0__drop', class: 'high_risk_write' };
time('decide: call denied by the first rule (early stop)', 200_000, () => decide(p, input(retired, {})));
const other: PolicyTarget = { kind: 'tool', upstream: 'echo', name: 'other', upstreamName: 'other', class: 'high_risk_write' };
time('decide: unmatched call (default deny)', 200_000, () => decide(p, input(other, {})));
time('visible: one listed tool (arguments unknown)', 200_000, () => visible(p, input(echo, undefined)));
const tools = Array.from({ length: 100 }, (_, i): PolicyTarget => ({ kind: 'tool', upstream: 'echo', name: `tool_${i}`, upstreamName: `tool_${i}`, class: 'read_only' }));
time('tools/list filter: 100 tools', 2_000, () => tools.filter((t) => visible(p, input(t, undefined))));

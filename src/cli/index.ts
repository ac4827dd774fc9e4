import { Command } from 'commander';
import { VERSION } from '../core/version.ts';
import { registerKeysCommand } from './keys.ts';
import { registerTokenCommand } from './token.ts';

// Commands load their modules on use: `--help` and `validate` stay fast and never start anything.

const program = new Command('gatehouse')
  .description('An MCP gateway: one endpoint in front of many MCP servers.')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText(
    'after',
    `
Examples:
  $ gatehouse serve --config examples/quickstart/gatehouse.yaml
  $ gatehouse stdio --config gatehouse.yaml     (as a desktop client's local MCP server)
  $ gatehouse validate gatehouse.yaml
  $ gatehouse tools --config gatehouse.yaml
  $ gatehouse servers --config gatehouse.yaml --json
  $ gatehouse keys create --config gatehouse.yaml --agent ci-bot --expires 90d
  $ gatehouse token mint --config gatehouse.yaml --agent ci-bot --ttl 15m
  $ gatehouse policy test examples/policy-seed/policy.test.yaml
  $ gatehouse policy explain --config examples/policy-seed/gatehouse.yaml --agent oncall-bot --roles oncall --tool k8s__kubectl_exec

Configuration reference: docs/reference/configuration.md`,
  );

program
  .command('serve')
  .description('Run the gateway: connect the upstreams, serve agents, reload when the config file changes.')
  .requiredOption('-c, --config <file>', 'config file (YAML)')
  .option('--no-watch', 'do not reload when the config file changes')
  .action(async (o) => (await import('./serve.ts')).serveCommand(o));

program
  .command('stdio')
  .description('Serve one agent over stdin/stdout (a desktop client launches this); logs go to stderr. Exits when stdin closes.')
  .requiredOption('-c, --config <file>', 'config file (YAML)')
  .option('--no-watch', 'do not reload when the config file changes')
  .action(async (o) => (await import('./stdio.ts')).stdioCommand(o));

program
  .command('validate')
  .description('Check a config file with the full compile; errors read file:line:column: message.')
  .argument('<file>', 'config file (YAML)')
  .action(async (f: string) => (await import('./validate.ts')).validateCommand(f));

program
  .command('servers')
  .description('Connect to every upstream once and show its state, era and what it offers.')
  .requiredOption('-c, --config <file>', 'config file (YAML)')
  .option('--json', 'print JSON instead of a table')
  .option('--wait <ms>', 'how long to wait for upstreams to come up', '15000')
  .action(async (o) => (await import('./inspect.ts')).serversCommand(o));

program
  .command('tools')
  .description('Show the catalog an agent would see: public names, their upstreams, and name collisions.')
  .requiredOption('-c, --config <file>', 'config file (YAML)')
  .option('--json', 'print JSON instead of a table')
  .option('--wait <ms>', 'how long to wait for upstreams to come up', '15000')
  .action(async (o) => (await import('./inspect.ts')).toolsCommand(o));

// Parse errors of the policy commands exit 2, like their other input errors: 1 means a test case failed.
const policy = program
  .command('policy')
  .description('Test and explain policy decisions offline, against a config file (nothing is started).')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .addHelpText(
    'after',
    `
Examples:
  $ gatehouse policy test examples/policy-seed/policy.test.yaml examples/policy-time-windows/policy.test.yaml
  $ gatehouse policy test --json examples/*/*.test.yaml
  $ gatehouse policy explain --config examples/policy-seed/gatehouse.yaml --agent oncall-bot --roles oncall --tool ops__get_logs
  $ gatehouse policy explain --config examples/policy-seed/gatehouse.yaml --agent finance-reporting \\
      --tool erp__query --args '{"table":"fy2026_ledger"}' --time 2026-06-15T17:59:00Z --json

Exit status: 0 all passed, 1 a test case failed, 2 a flag, test file or config is wrong.`,
  );

policy
  .command('test')
  .description('Run policy test files: each names a config and calls with the outcome they must get (allow, deny, require_approval, hidden).')
  .argument('<files...>', 'policy test files (YAML)')
  .option('--json', 'print machine-readable results')
  .action(async (files: string[], o) => (await import('./policy.ts')).policyTestCommand(files, o));

policy
  .command('explain')
  .description('Show how the policy decides one call: the decision, the deciding rule, whether the target is listed, and what every rule made of it.')
  .requiredOption('-c, --config <file>', 'config file (YAML)')
  .requiredOption('--agent <id>', 'agent id of the caller')
  .option('--agent-name <name>', 'display name of the agent')
  .option('--user <user>', 'the person or workflow the agent acts for')
  .option('--tenant <tenant>', 'tenant of the caller')
  .option('--roles <list>', 'roles, comma-separated')
  .option('--groups <list>', 'groups, comma-separated')
  .option('--scopes <list>', 'scopes, comma-separated')
  .option('--auth-method <type>', 'anonymous, api_key (default), jwt, gateway_token or mtls')
  .option('--auth-source <name>', 'name of the auth method that accepted the caller (default "probe")')
  .option('--attributes <json>', 'extra principal attributes for conditions, a JSON object')
  .option('--tool <name>', 'public tool name (<prefix>__<name>)')
  .option('--prompt <name>', 'public prompt name')
  .option('--resource <uri>', 'resource URI')
  .option('--args <json>', 'call arguments, a JSON object')
  .option('--method <method>', 'MCP method (default tools/call, prompts/get or resources/read)')
  .option('--upstream <name>', 'the upstream serving it (passthrough names; resources with several upstreams)')
  .option('--annotations <json>', "the tool's annotations as its upstream lists them (count for trusted upstreams)")
  .option('--time <iso>', 'when, ISO-8601 with offset (default now)')
  .option('--env <name>', 'environment (default gateway.environment)')
  .option('--client <ip>', 'client IP address')
  .option('--json', 'print JSON')
  .action(async (o) => (await import('./policy.ts')).policyExplainCommand(o));

// Usage errors of the audit commands exit 2: `audit verify` exits 1 when it finds a break.
const audit = program
  .command('audit')
  .description('Search, follow, verify and export the hash-chained audit trail in the configured store (beside a running gateway).')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .addHelpText(
    'after',
    `
Examples:
  Who called which high-risk ERP tool in November 2026, when, and what the policy decided:
  $ gatehouse audit search --config gatehouse.yaml --since 2026-11-01 --until 2026-12-01 --server erp --class high_risk_write --all
  $ gatehouse audit search --config gatehouse.yaml --since 2h --decision deny --format json
  $ gatehouse audit tail --config gatehouse.yaml -f --agent ci-bot
  $ gatehouse audit verify --config gatehouse.yaml
  $ gatehouse audit export --config gatehouse.yaml --out trail.jsonl
  $ gatehouse audit verify --file trail.jsonl --public-key audit-key.jwk

Exit status: 0 done (verify: every chain intact), 1 verify found a break or the store failed, 2 a flag, file or config is wrong.`,
  );

/** The filters `search` and `tail` share: every one given must match. */
const auditFilters = (cmd: Command): Command =>
  cmd
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .option('--since <time>', 'from this time, inclusive: ISO 8601 (2026-11-01, 2026-11-01T09:00:00Z; a date is midnight UTC) or a duration ago (30m, 2h, 7d)')
    .option('--until <time>', 'before this time, exclusive (same forms as --since)')
    .option('--agent <id>', 'agent id')
    .option('--user <user>', 'the person or workflow the agent acted for')
    .option('--tenant <tenant>', 'tenant')
    .option('--server <upstream>', 'upstream server (config name)')
    .option('--tool <name>', 'public target name: tool, prompt or resource URI as the agent used it')
    .option('--kind <kind>', 'target kind: tool, prompt, resource, completion, list, gateway')
    .option('--class <class>', 'tool class from policy (read_only, high_risk_write, ...)')
    .option('--method <method>', 'MCP method (tools/call, ...) or admin action')
    .option('--decision <effect>', 'policy decision: allow, deny, require_approval, or none (no policy decided)')
    .option('--outcome <outcome>', 'ok, error, denied, malformed, cancelled, timeout, upstream_error')
    .option('--session <id>', 'MCP session id')
    .option('--text <text>', 'case-insensitive substring of the record (arguments after redaction, error messages, names)')
    .option('--chain <chain>', 'only this chain (one per gateway instance)')
    .option('--type <type>', 'record type: exchange, gap, admin')
    .option('--format <format>', 'table, json (one record per line, with its hash) or ocsf (one OCSF 1.3 event per line)', 'table');

auditFilters(audit.command('search').description('Find records: who called what, when, and what was decided. Newest first; prints the next-page cursor on stderr when there is more.'))
  .option('--limit <n>', 'records per page, 1 to 1000', '100')
  .option('--cursor <cursor>', 'continue after a page (the cursor printed on stderr)')
  .option('--order <order>', 'desc (newest first) or asc', 'desc')
  .option('--all', 'follow the cursors: every matching record, page after page')
  .addHelpText(
    'after',
    `
The compliance query: who called the ERP server's high-risk write tools in November 2026, when, and
what the policy decided (AGENT, USER, TENANT, TIME, TARGET, DECISION with the deciding rule, OUTCOME):
  $ gatehouse audit search --config gatehouse.yaml --since 2026-11-01 --until 2026-12-01 \\
      --server erp --class high_risk_write --all
Every filter given must match. Add --format json for one JSON record per line (with its chain hash),
or --format ocsf for OCSF 1.3 API Activity events.`,
  )
  .action(async (o) => (await import('./audit.ts')).auditSearchCommand(o));

auditFilters(audit.command('tail').description('Show the last records, oldest first; with -f keep showing new ones (all chains) until interrupted.'))
  .option('-n, --lines <n>', 'how many of the last records to show first', '20')
  .option('-f, --follow', 'keep reading new records (every 500 ms) until SIGINT or SIGTERM')
  .action(async (o) => (await import('./audit.ts')).auditTailCommand(o));

audit
  .command('verify')
  .description('Check the hash chains and signed checkpoints of the store (--config) or of an export file (--file); names the first break.')
  .option('-c, --config <file>', 'config file (YAML): verify the trail in its store')
  .option('--file <export>', 'verify an export (JSONL from gatehouse audit export) instead')
  .option('--chain <chain>', 'only this chain (repeat for more)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--public-key <jwk-file>', 'trust only this public key (JWK or JWK Set file) for checkpoint signatures')
  .option('--json', 'print the report as JSON')
  .action(async (o) => (await import('./audit.ts')).auditVerifyCommand(o));

audit
  .command('export')
  .description('Write the trail (entries, checkpoints, public keys, prune marks) as JSONL that `audit verify --file` checks on its own.')
  .requiredOption('-c, --config <file>', 'config file (YAML)')
  .option('--chain <chain>', 'only this chain (repeat for more)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--out <file>', 'write to this file (complete or not at all) instead of stdout')
  .action(async (o) => (await import('./audit.ts')).auditExportCommand(o));

registerKeysCommand(program);
registerTokenCommand(program);

await program.parseAsync(process.argv);

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

registerKeysCommand(program);
registerTokenCommand(program);

await program.parseAsync(process.argv);

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

registerKeysCommand(program);
registerTokenCommand(program);

await program.parseAsync(process.argv);

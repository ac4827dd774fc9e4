// `gatehouse keys`: API keys in the configured store. Safe beside a running gateway (SQLite WAL):
// the gateway reads the key on every request, so a revoke here applies to its next request.
import type { Command } from 'commander';
import { displayKeyId } from '../identity/api-key-format.ts';
import { KeyInputError, createKey, listKeys, revokeKey, rotateKey } from '../identity/key-service.ts';
import type { ApiKeyView, CreateKeyInput } from '../identity/key-service.ts';
import { StoreError } from '../store/store.ts';
import type { Store } from '../store/store.ts';
import { CliError, runCli, withConfigStore } from './config-store.ts';
import { table } from './table.ts';

interface CreateOptions {
  config: string;
  agent: string;
  name?: string;
  user?: string;
  tenant?: string;
  role: string[];
  scope: string[];
  expires?: string;
  admin?: boolean;
  json?: boolean;
  quiet?: boolean;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800, y: 31_536_000 };
const DURATION = /^(\d{1,9})([smhdwy])$/;
const SHOWN_ONCE = 'Store it now: it cannot be shown again (only its hash is kept).';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('Create, list, revoke and rotate API keys (kept in the configured store, only as hashes).');

  keys
    .command('create')
    .description('Create an API key and print it once.')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .requiredOption('--agent <agent>', 'agent the key identifies (the software calling)')
    .option('--name <name>', 'what people call the key ("ci-bot prod")')
    .option('--user <user>', 'the person or workflow the agent acts for')
    .option('--tenant <tenant>', 'tenant of the key')
    .option('--role <role>', 'a role of the key (repeat for more)', collect, [])
    .option('--scope <scope>', 'a scope of the key (repeat for more)', collect, [])
    .option('--expires <when>', 'lifetime (30d, 12h, 90m, 2w, 1y) or an ISO date/time (2027-01-31, 2027-01-31T12:00:00Z); default: never')
    .option('--admin', 'an admin key (admin API only) instead of an agent key')
    .option('--json', 'print the key and its record as JSON')
    .option('--quiet', 'print the key alone, nothing else')
    .action((o: CreateOptions) =>
      run(o.config, async (store) => {
        const now = Date.now();
        const input: CreateKeyInput = { kind: o.admin ? 'admin' : 'agent', agent: o.agent, roles: o.role, scopes: o.scope };
        if (o.name !== undefined) input.name = o.name;
        if (o.user !== undefined) input.user = o.user;
        if (o.tenant !== undefined) input.tenant = o.tenant;
        if (o.expires !== undefined) Object.assign(input, parseExpiry(o.expires));
        const { key, record } = await createKey(store, input, now);
        if (o.json) return out(json({ key, ...record }));
        if (!o.quiet) {
          info(`Created ${record.kind} key ${displayKeyId(record.id)} for agent "${record.agent}"${record.expiresAt ? `, expires ${record.expiresAt}` : ', does not expire'}.`);
          info(SHOWN_ONCE);
        }
        out(`${key}\n`);
      }),
    );

  keys
    .command('list')
    .description('List API keys, newest first (never their secrets).')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .option('--all', 'include revoked keys')
    .option('--admin', 'only admin keys')
    .option('--json', 'print JSON instead of a table')
    .action((o: { config: string; all?: boolean; admin?: boolean; json?: boolean }) =>
      run(o.config, async (store) => {
        const views = await listKeys(store, { includeRevoked: o.all === true, ...(o.admin ? { kind: 'admin' as const } : {}) }, Date.now());
        out(o.json ? json(views) : table(views.map(row)));
      }),
    );

  keys
    .command('revoke')
    .description('Revoke an API key now.')
    .argument('<id>', 'key id (ghk_AbCdEfGhIjKl or AbCdEfGhIjKl)')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .option('--json', 'print the revoked key as JSON')
    .action((id: string, o: { config: string; json?: boolean }) =>
      run(o.config, async (store) => {
        const view = await revokeKey(store, id, Date.now());
        out(o.json ? json(view) : `Revoked API key ${displayKeyId(view.id)} of agent "${view.agent}".\n`);
      }),
    );

  keys
    .command('rotate')
    .description('Replace an API key with a new one of the same attributes; the old one stays valid for the grace period.')
    .argument('<id>', 'key id (ghk_AbCdEfGhIjKl or AbCdEfGhIjKl)')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .option('--grace <duration>', 'how long the old key keeps working (0 revokes it now; 30m, 1h, 7d)', '1h')
    .option('--json', 'print the new key, its record and the old one as JSON')
    .option('--quiet', 'print the new key alone, nothing else')
    .action((id: string, o: { config: string; grace: string; json?: boolean; quiet?: boolean }) =>
      run(o.config, async (store) => {
        const graceSeconds = o.grace === '0' ? 0 : parseDuration('--grace', o.grace);
        const { key, record, previous } = await rotateKey(store, id, { graceSeconds }, Date.now());
        if (o.json) return out(json({ key, ...record, previous }));
        if (!o.quiet) {
          const fate = previous.state === 'revoked' ? 'is revoked' : `keeps working until ${previous.expiresAt}`;
          info(`Rotated ${displayKeyId(previous.id)} to ${displayKeyId(record.id)}; the old key ${fate}.`);
          info(SHOWN_ONCE);
        }
        out(`${key}\n`);
      }),
    );
}

/** Runs against the config's store; input problems exit 2, store failures exit 1 with the store's message. */
function run(configFile: string, fn: (store: Store) => Promise<void>): Promise<void> {
  return runCli(async () => {
    try {
      await withConfigStore(configFile, (_snap, store) => fn(store));
    } catch (err) {
      if (err instanceof KeyInputError) throw new CliError(err.message);
      if (err instanceof StoreError) {
        process.stderr.write(`gatehouse: ${err.message}\n`);
        process.exitCode = 1;
        return;
      }
      throw err;
    }
  });
}

function parseExpiry(text: string): Pick<CreateKeyInput, 'expiresInSeconds' | 'expiresAt'> {
  if (DURATION.test(text)) return { expiresInSeconds: parseDuration('--expires', text) };
  if (/^\d{4}-/.test(text)) return { expiresAt: text };
  throw new CliError(`--expires: "${text}" is neither a lifetime (30d, 12h, 90m, 2w, 1y) nor an ISO date (2027-01-31, 2027-01-31T12:00:00Z)`);
}

function parseDuration(option: string, text: string): number {
  const m = DURATION.exec(text);
  const seconds = m === null ? 0 : Number(m[1]) * UNITS[m[2]!]!;
  if (seconds <= 0) throw new CliError(`${option}: "${text}" is not a positive duration such as 90s, 30m, 12h, 7d, 2w or 1y`);
  return seconds;
}

function row(v: ApiKeyView): Record<string, string> {
  return {
    id: displayKeyId(v.id),
    kind: v.kind,
    agent: v.agent,
    tenant: v.tenant ?? '',
    name: v.name ?? '',
    created: when(v.createdAt),
    expires: when(v.expiresAt),
    'last used': when(v.lastUsedAt),
    state: v.state,
  };
}

/** Minutes are enough in a table; the JSON output has the exact times. */
function when(t: string | undefined): string {
  return t === undefined ? '' : `${t.slice(0, 10)} ${t.slice(11, 16)}Z`;
}

/** Absent fields print as null, so scripts see the same keys on every record. */
function json(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (v === undefined ? null : v), 2)}\n`;
}

function out(text: string): void {
  process.stdout.write(text);
}

function info(line: string): void {
  process.stderr.write(`${line}\n`);
}

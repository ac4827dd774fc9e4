// `gatehouse keys`: API keys in the configured store. Safe beside a running gateway (SQLite WAL):
// the gateway reads the key on every request, so a revoke here applies to its next request.
import type { Command } from 'commander';
import { displayKeyId } from '../identity/api-key-format.ts';
import { KeyInputError, createKey, listKeys, revokeKey, rotateKey } from '../identity/key-service.ts';
import type { ApiKeyView, CreateKeyInput } from '../identity/key-service.ts';
import type { Store } from '../store/store.ts';
import { CliError, identityInput, identityOptions, info, out, parseDuration, runStoreCommand, type IdentityOptions } from './store-command.ts';
import { table } from './table.ts';

interface CreateOptions extends IdentityOptions {
  config: string;
  expires?: string;
  admin?: boolean;
  json?: boolean;
  quiet?: boolean;
}

const SHOWN_ONCE = 'Store it now: it cannot be shown again (only its hash is kept).';

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('Create, list, revoke and rotate API keys (kept in the configured store, only as hashes).');

  identityOptions(
    keys.command('create').description('Create an API key and print it once.').requiredOption('-c, --config <file>', 'config file (YAML)'),
    'key',
    'agent the key identifies (the software calling)',
    'what people call the key ("ci-bot prod")',
  )
    .option('--expires <when>', 'lifetime (30d, 12h, 90m, 2w, 1y) or an ISO date/time (2027-01-31, 2027-01-31T12:00:00Z); default: never')
    .option('--admin', 'an admin key (admin API only) instead of an agent key')
    .option('--json', 'print the key and its record as JSON')
    .option('--quiet', 'print the key alone, nothing else')
    .action((o: CreateOptions) =>
      run(o.config, async (store) => {
        const now = Date.now();
        const input: CreateKeyInput = { kind: o.admin ? 'admin' : 'agent', ...identityInput(o) };
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
        const graceSeconds = graceOf(o.grace);
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

function run(configFile: string, fn: (store: Store) => Promise<void>): Promise<void> {
  return runStoreCommand(configFile, [KeyInputError], (_snap, store) => fn(store));
}

function parseExpiry(text: string): Pick<CreateKeyInput, 'expiresInSeconds' | 'expiresAt'> {
  const seconds = parseDuration(text, { years: true });
  if (seconds !== undefined) return { expiresInSeconds: seconds };
  if (/^\d{4}-/.test(text)) return { expiresAt: text };
  throw new CliError(`--expires: "${text}" is neither a lifetime (30d, 12h, 90m, 2w, 1y) nor an ISO date (2027-01-31, 2027-01-31T12:00:00Z)`);
}

function graceOf(text: string): number {
  if (text === '0') return 0;
  const seconds = parseDuration(text, { years: true });
  if (seconds === undefined) throw new CliError(`--grace: "${text}" is not a positive duration such as 90s, 30m, 12h, 7d, 2w or 1y`);
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


// `gatehouse token`: the gateway's own short-lived tokens and signing keys, in the configured store.
// Safe beside a running gateway: it picks up a rotated key when a token names its kid.
import type { Command } from 'commander';
import type { Snapshot } from '../config/snapshot.ts';
import type { MintInput } from '../identity/tokens/token-service.ts';
import type { Store } from '../store/store.ts';
import { CliError, identityInput, identityOptions, info, out, parseDuration, runStoreCommand, type IdentityOptions } from './store-command.ts';

interface MintOptions extends IdentityOptions {
  config: string;
  ttl?: string;
  json?: boolean;
}


export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('Mint short-lived gateway tokens and manage the keys that sign them (accepted by `gateway_token` methods).');

  identityOptions(
    token
      .command('mint')
      .description('Sign a token for an agent and print it (send it as Authorization: Bearer).')
      .requiredOption('-c, --config <file>', 'config file (YAML)'),
    'token',
    'agent the token identifies (its sub)',
    'display name of the agent',
  )
    .option('--ttl <duration>', 'lifetime (900, 90s, 15m, 12h, 1d); default auth.tokens.defaultTtlSeconds, at most auth.tokens.maxTtlSeconds')
    .option('--json', 'print {token, jti, expiresAt} as JSON')
    .action((o: MintOptions) =>
      run(o.config, async (snap, store, { TokenService, canonicalUrls }) => {
        const input: MintInput = identityInput(o);
        if (o.ttl !== undefined) {
          const ttl = parseDuration(o.ttl, { bare: true });
          if (ttl === undefined) throw new CliError(`--ttl: "${o.ttl}" is not a positive duration such as 900, 90s, 15m, 12h or 1d`);
          input.ttlSeconds = ttl;
        }
        const cfg = snap.config;
        // The serving gateway's audience would depend on the port it picks at start: unknown here.
        if (cfg.gateway.publicUrl === undefined && cfg.gateway.listen.port === 0) {
          throw new CliError('gateway.listen.port is 0 (a port picked at start), so the token audience is unknown: set gateway.publicUrl');
        }
        const urls = canonicalUrls(cfg);
        const service = new TokenService(store, snap.config.auth.tokens, () => urls.issuer, () => urls.resource);
        const minted = await service.mint(input, Date.now());
        const expiresAt = new Date(minted.expiresAt).toISOString();
        if (o.json) return out(`${JSON.stringify({ token: minted.token, jti: minted.jti, expiresAt }, null, 2)}\n`);
        info(`Minted a token for agent "${o.agent}" (jti ${minted.jti}), valid until ${expiresAt}, audience ${urls.resource}.`);
        if (!snap.config.auth.methods.some((m) => m.type === 'gateway_token')) info('Note: no gateway_token method is defined under auth.methods, so the gateway does not accept it yet.');
        out(`${minted.token}\n`);
      }),
    );

  token
    .command('rotate-key')
    .description('Make a new signing key; the previous one keeps verifying its tokens until they expire (auth.tokens.maxTtlSeconds).')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action((o: { config: string }) =>
      run(o.config, async (snap, store, { TokenService }) => {
        const now = Date.now();
        const service = new TokenService(store, snap.config.auth.tokens, unused, unused);
        const { kid, retired } = await service.rotate(now);
        const until = new Date(now + snap.config.auth.tokens.maxTtlSeconds * 1000).toISOString();
        info(retired.length === 0 ? 'Made the first signing key.' : `Retired ${retired.join(', ')}: still verifies until ${until}.`);
        out(`${kid}\n`);
      }),
    );

  token
    .command('jwks')
    .description('Print the public keys that verify gateway tokens (JWKS JSON): the signing key and retired keys still in use.')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action((o: { config: string }) =>
      run(o.config, async (snap, store, { TokenService }) => {
        const service = new TokenService(store, snap.config.auth.tokens, unused, unused);
        out(`${JSON.stringify(await service.jwks(Date.now()), null, 2)}\n`);
      }),
    );
}

function unused(): string {
  throw new Error('issuer and audience are only needed to mint');
}

type Modules = Awaited<ReturnType<typeof load>>;

// Loaded on use, like every command's body: `gatehouse --help` stays fast.
async function load() {
  const [{ TokenInputError, TokenService }, { canonicalUrls }] = await Promise.all([import('../identity/tokens/token-service.ts'), import('../identity/canonical-url.ts')]);
  return { TokenInputError, TokenService, canonicalUrls };
}

async function run(configFile: string, fn: (snap: Snapshot, store: Store, m: Modules) => Promise<void>): Promise<void> {
  const m = await load();
  return runStoreCommand(configFile, [m.TokenInputError], (snap, store) => fn(snap, store, m));
}

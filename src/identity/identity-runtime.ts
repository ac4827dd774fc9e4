import type { Snapshot } from '../config/snapshot.ts';
import type { Store } from '../store/store.ts';
import { canonicalUrls } from './canonical-url.ts';
import type { AuthEnv } from './method.ts';
import { TokenService } from './tokens/token-service.ts';

/**
 * What authentication needs at run time, beside the compiled methods: the store (API keys, signing
 * keys), the gateway's own token service, and the canonical URL, which depends on the port actually
 * bound when the config says 0.
 */
export class IdentityRuntime implements AuthEnv {
  readonly store: Store;
  readonly tokens: TokenService;
  readonly #snapshot: () => Snapshot;
  #port: number | undefined;

  constructor(store: Store, snapshot: () => Snapshot) {
    this.store = store;
    this.#snapshot = snapshot;
    this.tokens = new TokenService(
      store,
      snapshot().config.auth.tokens,
      () => this.canonical().issuer,
      () => this.canonical().resource,
    );
  }

  /** The data plane reports the port it bound (config port 0 picks one). */
  setBoundPort(port: number): void {
    this.#port = port;
  }

  canonical(): { resource: string; issuer: string } {
    return canonicalUrls(this.#snapshot().config, this.#port);
  }

  audiences(): readonly string[] {
    return [this.canonical().resource];
  }

  now(): number {
    return Date.now();
  }
}

import type { Snapshot } from '../config/snapshot.ts';
import { ParkedCalls } from './parked.ts';
import { RequestStateSealer } from './request-state.ts';

/** The gateway's relay state: the state sealer and the calls parked for 2026-07-28 agents' retries. */
export class RelayState {
  sealer: RequestStateSealer;
  ttlMs: number;
  maxRounds: number;
  readonly parked: ParkedCalls;
  #secret: string | undefined;

  constructor(snapshot: Snapshot) {
    const r = snapshot.config.gateway.relay;
    this.#secret = r.stateSecret;
    this.sealer = new RequestStateSealer(r.stateSecret);
    this.ttlMs = r.inputTtlSeconds * 1000;
    this.maxRounds = r.maxInputRounds;
    this.parked = new ParkedCalls(r.maxParked);
  }

  /** Takes a reloaded config's settings; a changed secret makes states issued before unusable. */
  apply(snapshot: Snapshot): void {
    const r = snapshot.config.gateway.relay;
    if (r.stateSecret !== this.#secret) {
      this.#secret = r.stateSecret;
      this.sealer = new RequestStateSealer(r.stateSecret);
    }
    this.ttlMs = r.inputTtlSeconds * 1000;
    this.maxRounds = r.maxInputRounds;
    this.parked.maxParked = r.maxParked;
  }
}

import type { Writable } from 'node:stream';
import type { SessionStream } from './agent-session.ts';
import type { MessageOut } from './single-channel.ts';

const SENT = Object.freeze({ ok: true });
const NOT_SENT = Object.freeze({ ok: false });

/**
 * Newline-delimited JSON-RPC on stdout: the only thing stdout ever carries in stdio mode. JSON.stringify
 * escapes line breaks inside strings, so one message is always one line. When the pipe is behind,
 * `onBehind` lets the edge stop reading stdin until it drains: an agent that does not read its answers
 * cannot make the gateway queue without bound.
 */
export class LineOut implements MessageOut {
  readonly #output: Writable;
  readonly #onBehind: () => void;
  #closed = false;

  constructor(output: Writable, onBehind: () => void) {
    this.#output = output;
    this.#onBehind = onBehind;
  }

  get closed(): boolean {
    return this.#closed || this.#output.destroyed || this.#output.writableEnded;
  }

  /** The agent can no longer read (stdout closed or failed). */
  markClosed(): void {
    this.#closed = true;
  }

  sendJson(json: string): { readonly ok: boolean } {
    if (this.closed) return NOT_SENT;
    if (!this.#output.write(`${json}\n`)) this.#onBehind();
    return SENT;
  }

  send(message: object): { readonly ok: boolean } {
    return this.sendJson(JSON.stringify(message));
  }

  /** Resolves once everything written so far has been handed to the OS. */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.#output.write('', () => resolve()));
  }
}

/**
 * The stdio session's view of stdout: closing the session stops session messages (list changes,
 * server->client requests) without closing stdout, which stateless requests still answer on.
 */
export function sessionView(out: LineOut): SessionStream & MessageOut {
  let closed = false;
  return {
    get closed() {
      return closed || out.closed;
    },
    send: (message) => (closed ? NOT_SENT : out.send(message)),
    sendJson: (json) => (closed ? NOT_SENT : out.sendJson(json)),
    close() {
      closed = true;
    },
  };
}

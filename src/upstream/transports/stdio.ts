// MCP over a child process's stdin/stdout: one JSON-RPC message per line, one process per upstream.
import type { Logger } from 'pino';
import { checkMessage, type JsonRpcMessage, type JsonRpcRequest } from '../../protocol/jsonrpc.ts';
import type { SupervisedProcess } from '../supervisor.ts';
import type { PendingCall } from './calls.ts';
import { LineSplitter } from './line-splitter.ts';
import { SessionCore, type SessionCoreOptions } from './session-core.ts';

/** Longest line accepted from a server's stdout; longer ones are dropped and their call failed. */
export const MAX_STDIO_LINE = 64 * 1024 * 1024;
/** Unread bytes queued for a server's stdin before new requests are refused. */
const MAX_STDIN_BACKLOG = 64 * 1024 * 1024;
const STOP_GRACE_MS = 5_000;
/** After stdout closes, how long the exit gets to arrive and explain why before the session dies. */
const OUTPUT_CLOSED_GRACE_MS = 250;
/** Requests the gateway never cancels: initialize must not be, and a probe's silence is the answer. */
const UNCANCELLABLE = new Set(['initialize', 'server/discover']);

export class StdioSession extends SessionCore {
  private readonly proc: SupervisedProcess;

  constructor(opts: SessionCoreOptions, proc: SupervisedProcess) {
    super(opts);
    this.proc = proc;
    const splitter = new LineSplitter(MAX_STDIO_LINE, {
      line: (bytes) => this.onLine(bytes),
      overflow: (head, tail, size) => this.onOverflow(head, tail, size),
    });
    proc.stdout.on('data', (chunk: Buffer) => splitter.push(chunk));
    proc.stdout.on('end', () => {
      splitter.end();
      // No answer can come any more. An exit usually follows at once and explains more, so wait for it.
      setTimeout(() => this.die(this.fault('upstream_failed', 'the process closed its standard output')), OUTPUT_CLOSED_GRACE_MS).unref();
    });
    proc.stdin.on('error', (err) => this.die(this.fault('upstream_failed', `writing to the process failed (${err.message})`)));
    void proc.exited.then((exit) => {
      this.die(this.fault('upstream_failed', `process ${proc.pid ?? ''} ${proc.describeExit(exit)}`, { exitCode: exit.code, signal: exit.signal }));
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  protected transmit(call: PendingCall, msg: JsonRpcRequest): void {
    const stdin = this.proc.stdin;
    // Both refusals happen before a byte of the request is written: safe to retry elsewhere.
    if (!stdin.writable) {
      call.fail(this.notSentFault('upstream_failed', 'the process no longer accepts input'));
      return;
    }
    if (stdin.writableLength > MAX_STDIN_BACKLOG) {
      call.fail(this.notSentFault('upstream_failed', `the process is not reading its input (${stdin.writableLength} bytes queued)`));
      return;
    }
    stdin.write(`${JSON.stringify(msg)}\n`);
  }

  protected send(msg: JsonRpcMessage): Promise<void> {
    const stdin = this.proc.stdin;
    if (!stdin.writable) return Promise.reject(this.fault('upstream_failed', 'the process no longer accepts input'));
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    stdin.write(`${JSON.stringify(msg)}\n`, (err) => (err ? reject(this.fault('upstream_failed', `writing to the process failed (${err.message})`)) : resolve()));
    return promise;
  }

  cancelUpstream(call: PendingCall, reason: 'abort' | 'timeout'): void {
    if (this.closed || UNCANCELLABLE.has(call.method) || !this.proc.stdin.writable) return;
    const msg = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: call.id, reason: reason === 'timeout' ? 'timed out at the gateway' : 'cancelled by the client' } };
    this.proc.stdin.write(`${JSON.stringify(msg)}\n`);
  }

  protected shutdown(): Promise<void> {
    return this.proc.stop(STOP_GRACE_MS);
  }

  private onLine(bytes: Buffer): void {
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      logSkipped(this.logger, 'a line on stdout is not JSON; skipped', bytes);
      return;
    }
    const msg = checkMessage(value);
    if (typeof msg === 'string') {
      logSkipped(this.logger, `a line on stdout is not a JSON-RPC message (${msg}); skipped`, bytes);
      return;
    }
    this.dispatch(msg, undefined);
  }

  private onOverflow(head: Buffer, tail: Buffer, size: number): void {
    const id = responseIdOf(head, tail);
    const call = id === undefined ? undefined : this.calls.get(id);
    this.logger.error({ bytes: size, id }, `a message on stdout exceeds ${MAX_STDIO_LINE} bytes; dropped`);
    call?.fail(this.fault('upstream_protocol_error', `the answer to ${call.method} exceeds ${MAX_STDIO_LINE} bytes (${size} bytes)`, { bytes: size }));
  }
}

function logSkipped(logger: Logger, what: string, bytes: Buffer): void {
  logger.warn({ line: bytes.subarray(0, 200).toString('utf8') }, what);
}

/** Finds the id of an oversized response: serializers put it right after "jsonrpc" or last. */
function responseIdOf(head: Buffer, tail: Buffer): number | undefined {
  const first = /^\s*\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*(\d+)\s*,/.exec(head.toString('latin1'));
  if (first?.[1] !== undefined) return Number(first[1]);
  const last = /"id"\s*:\s*(\d+)\s*\}\s*$/.exec(tail.toString('latin1'));
  return last?.[1] !== undefined ? Number(last[1]) : undefined;
}

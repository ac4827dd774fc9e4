// Preload for tests and benchmarks: `NODE_OPTIONS="--import /abs/path/scripts/loopback.mjs"`.
//
// Servers from npm (server-everything and friends) call `app.listen(PORT)`, which binds every
// interface. On a shared machine a test peer must never be reachable from outside, so every TCP
// listen in the process is rewritten to 127.0.0.1. Unix sockets, named pipes and inherited handles
// are left as they are: they are not network-reachable. Plain JS so it loads on any Node version.
import net from 'node:net';

const LOOPBACK = '127.0.0.1';
const marker = Symbol.for('gatehouse.loopback');

// Mirrors Node's own rule (lib/net.js toNumber / isPipeName): a string is a port when it reads as a
// non-negative number, otherwise it is a pipe path.
function asPort(value) {
  if (typeof value === 'number') return value >= 0 ? value : false;
  if (typeof value === 'string') {
    const n = Number(value);
    return n >= 0 ? n : false;
  }
  return false;
}

function isHandle(value) {
  return value !== null && typeof value === 'object' && ('_handle' in value || 'fd' in value || 'handle' in value);
}

/** Returns the argument list to pass to the original listen, or undefined to leave it untouched. */
function rewrite(args) {
  const cb = typeof args[args.length - 1] === 'function' ? args[args.length - 1] : undefined;
  const positional = cb ? args.slice(0, -1) : args.slice();
  const first = positional[0];

  if (first !== null && typeof first === 'object') {
    if (isHandle(first)) return undefined;
    if (typeof first.path === 'string' && first.path !== '') return undefined;
    const options = { ...first, host: LOOPBACK };
    // An IPv4 literal cannot be ipv6Only; keeping the flag would make listen fail with EINVAL.
    delete options.ipv6Only;
    return cb ? [options, cb] : [options];
  }

  // listen() and listen(cb) mean "random port, all interfaces".
  if (first === undefined || first === null) {
    const options = { port: 0, host: LOOPBACK };
    return cb ? [options, cb] : [options];
  }

  const port = asPort(first);
  if (port === false) return undefined; // a pipe path: listen(path[, backlog][, cb])

  // listen(port[, host][, backlog][, cb]): the second argument is a host when it is a string that is
  // not a number, otherwise it is the backlog (Node accepts listen(port, backlog, cb)).
  const options = { port, host: LOOPBACK };
  const second = positional[1];
  const backlog = typeof second === 'string' && asPort(second) === false ? positional[2] : second;
  const b = asPort(backlog);
  if (b !== false && backlog !== undefined && backlog !== null) options.backlog = b;
  return cb ? [options, cb] : [options];
}

if (!net.Server.prototype[marker]) {
  const original = net.Server.prototype.listen;
  net.Server.prototype.listen = function listenOnLoopback(...args) {
    const rewritten = rewrite(args);
    return original.apply(this, rewritten ?? args);
  };
  Object.defineProperty(net.Server.prototype, marker, { value: true });
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileHostGuard, normaliseOrigin } from '../../src/edge/origin-guard.ts';

const loopback = compileHostGuard({ listenHost: '127.0.0.1', listenPort: 8080, allowedOrigins: ['https://App.Example.com:443/'], allowedHosts: [] });

test('Origin: absent is allowed (non-browser clients send none)', () => {
  assert.equal(loopback.checkOrigin(undefined), true);
});

test('Origin: null and malformed values are refused', () => {
  for (const o of ['null', '', ' ', 'localhost', 'http://', 'http://localhost:8080/', 'http://localhost/path', 'http://user@localhost', 'http://localhost@evil.com', 'http://localhost:99999', 'http://localhost:0', 'javascript:alert(1)', 'http://local host', 'http://[::1', 'http://[::zz]:80']) {
    assert.equal(loopback.checkOrigin(o), false, o);
  }
});

test('Origin: configured origins match after normalisation only, exactly', () => {
  assert.equal(loopback.checkOrigin('https://app.example.com'), true);
  assert.equal(loopback.checkOrigin('HTTPS://APP.EXAMPLE.COM'), true);
  assert.equal(loopback.checkOrigin('https://app.example.com:443'), true);
  assert.equal(loopback.checkOrigin('http://app.example.com'), false, 'scheme differs');
  assert.equal(loopback.checkOrigin('https://app.example.com:8443'), false, 'port differs');
  assert.equal(loopback.checkOrigin('https://evil.app.example.com'), false);
  assert.equal(loopback.checkOrigin('https://app.example.com.evil.com'), false);
  assert.equal(loopback.checkOrigin('https://evil.com'), false);
});

test('Origin: loopback origins on any port when listening on loopback', () => {
  for (const o of ['http://localhost', 'http://localhost:3000', 'https://127.0.0.1:8443', 'http://[::1]:5173', 'http://LOCALHOST:1']) {
    assert.equal(loopback.checkOrigin(o), true, o);
  }
  for (const o of ['http://localhost.evil.com', 'http://localhost.evil.com:8080', 'http://127.0.0.1.nip.io', 'http://evil.com', 'http://127.0.0.2:8080', 'ftp://localhost', 'http://localhost.', 'http://[::2]:80']) {
    assert.equal(loopback.checkOrigin(o), false, o);
  }
});

test('Origin: loopback origins are refused when listening on a public address', () => {
  const pub = compileHostGuard({ listenHost: '0.0.0.0', listenPort: 8080, allowedOrigins: ['https://console.example.com'], allowedHosts: [] });
  assert.equal(pub.checkOrigin('http://localhost:3000'), false);
  assert.equal(pub.checkOrigin('https://console.example.com'), true);
  assert.equal(pub.checkOrigin(undefined), true);
});

test('Origin: a configured non-http origin (editor webview) is matched exactly', () => {
  const g = compileHostGuard({ listenHost: '127.0.0.1', listenPort: 8080, allowedOrigins: ['vscode-webview://abc123'], allowedHosts: [] });
  assert.equal(g.checkOrigin('vscode-webview://abc123'), true);
  assert.equal(g.checkOrigin('vscode-webview://abc124'), false);
});

test('Origin: invalid configured origins fail compile with the index', () => {
  assert.throws(() => compileHostGuard({ listenHost: '127.0.0.1', listenPort: 1, allowedOrigins: ['https://ok.example', 'null'], allowedHosts: [] }), /allowedOrigins\[1\]/);
  assert.throws(() => compileHostGuard({ listenHost: '127.0.0.1', listenPort: 1, allowedOrigins: ['https://x.example/path'], allowedHosts: [] }), /allowedOrigins\[0\]/);
});

test('normaliseOrigin drops default ports and lowercases', () => {
  assert.equal(normaliseOrigin('HTTP://Example.COM:80'), 'http://example.com');
  assert.equal(normaliseOrigin('https://example.com:0443'), 'https://example.com');
  assert.equal(normaliseOrigin('http://[0:0:0:0:0:0:0:1]:80'), 'http://[0:0:0:0:0:0:0:1]');
  assert.equal(normaliseOrigin('http://example.com:8080'), 'http://example.com:8080');
});

test('Host: missing or empty is refused', () => {
  assert.equal(loopback.checkHost(undefined), false);
  assert.equal(loopback.checkHost(''), false);
});

test('Host: listen address and loopback names with the listen port', () => {
  for (const h of ['127.0.0.1:8080', 'localhost:8080', 'LOCALHOST:8080', '[::1]:8080', 'localhost:08080']) {
    assert.equal(loopback.checkHost(h), true, h);
  }
  for (const h of ['localhost', '127.0.0.1', 'localhost:8081', '127.0.0.1:80', 'evil.com:8080', 'localhost.evil.com:8080', 'evil.com', '[::1]', '[::2]:8080', 'localhost:8080:8080', 'user@localhost:8080', 'localhost:8080/x', 'localhost :8080', '[::1:8080', 'localhost:99999']) {
    assert.equal(loopback.checkHost(h), false, h);
  }
});

test('Host: IPv6 loopback listen address', () => {
  const g = compileHostGuard({ listenHost: '::1', listenPort: 3000, allowedOrigins: [], allowedHosts: [] });
  assert.equal(g.checkHost('[::1]:3000'), true);
  assert.equal(g.checkHost('localhost:3000'), true);
  assert.equal(g.checkHost('[::1]:3001'), false);
  assert.equal(g.checkHost('::1:3000'), false, 'unbracketed IPv6 is malformed');
  assert.equal(g.checkOrigin('http://[::1]:9999'), true);
});

test('Host: configured hosts, with and without a port', () => {
  const g = compileHostGuard({ listenHost: '10.0.0.5', listenPort: 8080, allowedOrigins: [], allowedHosts: ['mcp.example.com', 'Internal.Example:9000', '[2001:DB8::0:1]:443'] });
  assert.equal(g.checkHost('10.0.0.5:8080'), true);
  assert.equal(g.checkHost('mcp.example.com'), true);
  assert.equal(g.checkHost('mcp.example.com:443'), true);
  assert.equal(g.checkHost('MCP.EXAMPLE.COM'), true);
  assert.equal(g.checkHost('internal.example:9000'), true);
  assert.equal(g.checkHost('internal.example:9001'), false);
  assert.equal(g.checkHost('internal.example'), false);
  assert.equal(g.checkHost('[2001:db8::1]:443'), true);
  assert.equal(g.checkHost('localhost:8080'), false, 'not listening on loopback');
  assert.equal(g.checkHost('evil.mcp.example.com'), false);
  assert.equal(g.checkHost('mcp.example.com.evil.com'), false);
});

test('Host: wildcard listen accepts only loopback names and configured hosts', () => {
  const g = compileHostGuard({ listenHost: '0.0.0.0', listenPort: 8080, allowedOrigins: [], allowedHosts: ['gw.example.com'] });
  assert.equal(g.checkHost('localhost:8080'), true);
  assert.equal(g.checkHost('gw.example.com'), true);
  assert.equal(g.checkHost('0.0.0.0:8080'), false);
  assert.equal(g.checkHost('192.168.1.20:8080'), false);
  assert.equal(g.checkHost('rebind.evil.com:8080'), false);
  const v6 = compileHostGuard({ listenHost: '::', listenPort: 8080, allowedOrigins: [], allowedHosts: [] });
  assert.equal(v6.checkHost('[::]:8080'), false);
  assert.equal(v6.checkHost('[::1]:8080'), true);
});

test('Host: * accepts any well-formed host but still refuses missing and malformed ones', () => {
  const g = compileHostGuard({ listenHost: '0.0.0.0', listenPort: 8080, allowedOrigins: [], allowedHosts: ['*'] });
  assert.equal(g.checkHost('anything.example:1234'), true);
  assert.equal(g.checkHost(undefined), false);
  assert.equal(g.checkHost('bad host'), false);
});

test('Host: listen port 0 (not yet known) accepts the listen names on any port', () => {
  const g = compileHostGuard({ listenHost: 'localhost', listenPort: 0, allowedOrigins: [], allowedHosts: [] });
  assert.equal(g.checkHost('localhost:51234'), true);
  assert.equal(g.checkHost('127.0.0.1:1'), true);
  assert.equal(g.checkHost('evil.com:51234'), false);
});

test('Host: listen port 80 accepts the name without a port', () => {
  const g = compileHostGuard({ listenHost: '127.0.0.1', listenPort: 80, allowedOrigins: [], allowedHosts: [] });
  assert.equal(g.checkHost('localhost'), true);
  assert.equal(g.checkHost('localhost:80'), true);
});

test('Host: invalid configured hosts fail compile with the index', () => {
  assert.throws(() => compileHostGuard({ listenHost: '127.0.0.1', listenPort: 1, allowedOrigins: [], allowedHosts: ['ok.example', 'http://x'] }), /allowedHosts\[1\]/);
});

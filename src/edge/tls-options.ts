import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import type { z } from 'zod';
import type { tlsSchema } from '../config/schema/gateway.ts';

export type TlsConfig = z.infer<typeof tlsSchema>;

/** What `https.createServer` needs on top of the HTTP options. */
export type TlsServerOptions = SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean };

/** A TLS setting that cannot be used; `path` is relative to the `tls` block (e.g. `['key']`). */
export class TlsConfigError extends Error {
  readonly path: readonly string[];
  constructor(path: readonly string[], message: string) {
    super(message);
    this.name = 'TlsConfigError';
    this.path = path;
  }
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/**
 * Reads the listener's PEM files (relative to `dir`, the config file's folder) and checks them before
 * any socket opens, so a bad file is a startup error that names it, not a failed handshake later.
 * `at` names the config block in messages: `gateway.listen.tls` or `admin.listen.tls`.
 */
export async function loadTlsOptions(tls: TlsConfig, dir: string, at = 'gateway.listen.tls'): Promise<TlsServerOptions> {
  if (tls.clientCert !== 'none' && tls.clientCa === undefined) {
    throw new TlsConfigError(['clientCert'], `${at}.clientCert: ${tls.clientCert} needs ${at}.clientCa, the PEM file of the CA(s) that sign client certificates (or set clientCert: none)`);
  }
  if (tls.clientCert === 'none' && tls.clientCa !== undefined) {
    throw new TlsConfigError(['clientCa'], `${at}.clientCa is set but clientCert: none never asks for a client certificate; use clientCert: request or require, or remove clientCa`);
  }
  const [cert, key, ca] = await Promise.all([
    readPem(at, 'cert', tls.cert, dir),
    readPem(at, 'key', tls.key, dir),
    tls.clientCa === undefined ? undefined : readPem(at, 'clientCa', tls.clientCa, dir),
  ]);
  const leaf = certificates(at, 'cert', cert)[0]!;
  const privateKey = parseKey(at, key);
  if (!leaf.x509.checkPrivateKey(privateKey)) {
    throw new TlsConfigError(['key'], `${at}.key ${key.file} does not belong to the certificate in ${at}.cert ${cert.file} (the first certificate of the file must be the server's own)`);
  }
  if (ca !== undefined) certificates(at, 'clientCa', ca);

  const options: TlsServerOptions = {
    cert: cert.text,
    key: key.text,
    ...(ca !== undefined ? { ca: ca.text } : {}),
    minVersion: 'TLSv1.2',
    requestCert: tls.clientCert !== 'none',
    // request: the handshake completes without a (valid) certificate and the auth methods decide, so a
    // request without one can still use another method; require: OpenSSL refuses it in the handshake.
    rejectUnauthorized: tls.clientCert === 'require',
  };
  try {
    // Builds the context the server will build, so whatever OpenSSL refuses is reported now.
    createSecureContext(options);
  } catch (err) {
    throw new TlsConfigError(['cert'], `${at}: the certificate ${cert.file}, key ${key.file}${ca !== undefined ? ` and client CA ${ca.file}` : ''} cannot be used together: ${(err as Error).message}`);
  }
  return options;
}

interface PemFile {
  readonly field: string;
  readonly file: string;
  readonly text: string;
}

async function readPem(at: string, field: string, path: string, dir: string): Promise<PemFile> {
  const file = resolve(dir, path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new TlsConfigError([field], `cannot read ${at}.${field} ${file}: ${e.code ?? e.message}`);
  }
  return { field, file, text };
}

function certificates(at: string, field: string, pem: PemFile): { x509: X509Certificate }[] {
  const blocks = pem.text.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) {
    const hint = KEY_BLOCK.test(pem.text) ? ' (it holds a private key)' : '';
    throw new TlsConfigError([field], `${at}.${field} ${pem.file} is not a PEM certificate file: no "-----BEGIN CERTIFICATE-----" block${hint}`);
  }
  return blocks.map((b, i) => {
    try {
      return { x509: new X509Certificate(b) };
    } catch (err) {
      throw new TlsConfigError([field], `${at}.${field} ${pem.file}: certificate ${i + 1} of ${blocks.length} cannot be parsed: ${(err as Error).message}`);
    }
  });
}

function parseKey(at: string, pem: PemFile): KeyObject {
  const kind = KEY_BLOCK.exec(pem.text);
  if (kind === null) {
    const hint = pem.text.includes('-----BEGIN CERTIFICATE-----') ? ' (it holds a certificate: are cert and key swapped?)' : '';
    throw new TlsConfigError(['key'], `${at}.key ${pem.file} is not a PEM private key: no "-----BEGIN PRIVATE KEY-----" block${hint}`);
  }
  if (kind[1] === 'ENCRYPTED ' || /Proc-Type: 4,ENCRYPTED/.test(pem.text)) {
    throw new TlsConfigError(['key'], `${at}.key ${pem.file} is encrypted; the gateway reads only unencrypted keys (protect the file with permissions)`);
  }
  try {
    return createPrivateKey({ key: pem.text, format: 'pem' });
  } catch (err) {
    throw new TlsConfigError(['key'], `${at}.key ${pem.file} is not a PEM private key: ${(err as Error).message}`);
  }
}

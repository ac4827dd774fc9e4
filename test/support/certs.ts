// Test certificates made with the openssl CLI: two CAs ("main" and an untrusted "other"), server and
// client leaves with chosen SANs, and expired leaves. EC P-256 keeps each certificate a few ms.
// OpenSSL 3.0 has no `-not_before/-not_after` on `x509`/`req`, so leaves are signed with `openssl ca`,
// whose `-startdate/-enddate` can put the validity window in the past.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its private key, as PEM text and as files. */
export interface TestCert {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
}

export interface ServerCertOptions {
  /** DNS SANs; default `['localhost']`. */
  readonly dns?: readonly string[];
  /** IP SANs; default `['127.0.0.1']`. */
  readonly ip?: readonly string[];
}

export interface ClientCertOptions {
  /** Subject common name; default `test-client`. */
  readonly cn?: string;
  readonly uris?: readonly string[];
  readonly dns?: readonly string[];
  readonly emails?: readonly string[];
  /** Validity from now; default 30. Ignored when `expired`. */
  readonly days?: number;
  /** Valid from 10 days ago until yesterday. */
  readonly expired?: boolean;
  /** Which CA signs it; default `main`. `other` is a CA the servers under test do not trust. */
  readonly ca?: 'main' | 'other';
  /** Mark the leaf as a CA (basicConstraints CA:TRUE), which an X.509-SVID must not be. */
  readonly isCa?: boolean;
}

export interface TestPki {
  readonly dir: string;
  /** The CA servers under test trust for client certificates (and clients trust for the server). */
  readonly ca: TestCert;
  /** A CA nobody trusts. */
  readonly otherCa: TestCert;
  server(opts?: ServerCertOptions): TestCert;
  client(opts?: ClientCertOptions): TestCert;
}

const DAY_MS = 86_400_000;

/** Creates both CAs under `dir` (which must exist and be writable); leaves are made on demand. */
export function makeTestPki(dir: string): TestPki {
  let seq = 0;
  const ca = makeCa(dir, 'main', 'Gatehouse Test CA');
  const otherCa = makeCa(dir, 'other', 'Gatehouse Other CA');
  const issue = (issuer: CaFiles, name: string, cn: string, sans: string[], ext: string[], from: Date, to: Date): TestCert => {
    const base = join(dir, `${++seq}-${name}`);
    const keyPath = `${base}.key.pem`;
    const csrPath = `${base}.csr.pem`;
    const certPath = `${base}.cert.pem`;
    const reqCnf = `${base}.req.cnf`;
    const extCnf = `${base}.ext.cnf`;
    writeFileSync(reqCnf, `[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = ${cnfValue(cn)}\n`);
    const alt = sans.length === 0 ? '' : `subjectAltName = @alt\n[alt]\n${sans.join('\n')}\n`;
    writeFileSync(extCnf, `[ext]\nauthorityKeyIdentifier = keyid\n${ext.join('\n')}\n${alt}`);
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', csrPath, '-config', reqCnf]);
    openssl([
      'ca', '-batch', '-notext', '-preserveDN', '-config', issuer.cnf, '-in', csrPath, '-out', certPath,
      '-extfile', extCnf, '-extensions', 'ext', '-startdate', asn1Time(from), '-enddate', asn1Time(to),
    ]);
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
  };
  return {
    dir,
    ca: ca.cert,
    otherCa: otherCa.cert,
    server(opts = {}) {
      const sans = [...numbered('DNS', opts.dns ?? ['localhost']), ...numbered('IP', opts.ip ?? ['127.0.0.1'])];
      const now = Date.now();
      const ext = ['basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = serverAuth'];
      return issue(ca, 'server', 'localhost', sans, ext, new Date(now - DAY_MS), new Date(now + 30 * DAY_MS));
    },
    client(opts = {}) {
      const sans = [...numbered('URI', opts.uris ?? []), ...numbered('DNS', opts.dns ?? []), ...numbered('email', opts.emails ?? [])];
      const now = Date.now();
      const from = opts.expired === true ? new Date(now - 10 * DAY_MS) : new Date(now - DAY_MS);
      const to = opts.expired === true ? new Date(now - DAY_MS) : new Date(now + (opts.days ?? 30) * DAY_MS);
      const ext = [
        `basicConstraints = critical,CA:${opts.isCa === true ? 'TRUE' : 'FALSE'}`,
        `keyUsage = critical,digitalSignature${opts.isCa === true ? ',keyCertSign' : ''}`,
        'extendedKeyUsage = clientAuth',
      ];
      return issue(opts.ca === 'other' ? otherCa : ca, 'client', opts.cn ?? 'test-client', sans, ext, from, to);
    },
  };
}

interface CaFiles {
  readonly cert: TestCert;
  /** The `openssl ca` config naming this CA's key, certificate and database. */
  readonly cnf: string;
}

function makeCa(dir: string, name: string, cn: string): CaFiles {
  const home = join(dir, `ca-${name}`);
  mkdirSync(join(home, 'issued'), { recursive: true });
  const certPath = join(home, 'ca.cert.pem');
  const keyPath = join(home, 'ca.key.pem');
  const reqCnf = join(home, 'req.cnf');
  writeFileSync(
    reqCnf,
    `[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3_ca\n[dn]\nCN = ${cnfValue(cn)}\n` +
      '[v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n',
  );
  openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-keyout', keyPath, '-out', certPath, '-config', reqCnf]);
  writeFileSync(join(home, 'index.txt'), '');
  const cnf = join(home, 'ca.cnf');
  // unique_subject = no: tests issue many leaves with the same subject. rand_serial: no serial file to keep.
  writeFileSync(
    cnf,
    [
      '[ca]', 'default_ca = this_ca', '[this_ca]',
      `database = ${cnfValue(join(home, 'index.txt'))}`,
      `new_certs_dir = ${cnfValue(join(home, 'issued'))}`,
      `certificate = ${cnfValue(certPath)}`,
      `private_key = ${cnfValue(keyPath)}`,
      'rand_serial = yes', 'unique_subject = no', 'default_md = sha256', 'email_in_dn = no', 'copy_extensions = none',
      'policy = any_policy', '[any_policy]', 'commonName = optional', '',
    ].join('\n'),
  );
  return { cert: { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath }, cnf };
}

function numbered(kind: string, values: readonly string[]): string[] {
  return values.map((v, i) => `${kind}.${i + 1} = ${cnfValue(v)}`);
}

/** Escapes a value for an openssl config file, where quotes, backslashes, `$` and `#` are special. */
function cnfValue(v: string): string {
  if (/[\r\n]/.test(v)) throw new Error(`certs: line breaks cannot be written into an openssl config: ${JSON.stringify(v)}`);
  return v.replace(/[\\"'$#]/g, (c) => `\\${c}`);
}

/** YYMMDDHHMMSSZ (UTCTime), the form `openssl ca -startdate/-enddate` takes. */
function asn1Time(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENSSL_CONF: '/dev/null' } });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || String(err)}`);
  }
}

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';

export interface TestPki {
  /** The CA certificate (PEM): what a client trusts with a CA bundle. */
  ca: string;
  /** The server's key and certificate (PEM files), signed by that CA. */
  key: string;
  cert: string;
}

/**
 * A private CA and one server certificate it signs, made with openssl in `dir`:
 * `subjectAltName` is what the certificate is valid for (`DNS:other.test`, `IP:127.0.0.1`).
 */
export function makePki(dir: string, subjectAltName: string): TestPki {
  const openssl = requireBinary('openssl');
  const ssl = (...args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: 'ignore' });
  const rsa = ['-newkey', 'rsa:2048', '-nodes'];
  ssl('req', '-x509', ...rsa, '-days', '2', '-subj', '/CN=Test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  ssl('req', ...rsa, '-subj', '/CN=test server', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(dir, 'san.ext'), `subjectAltName=${subjectAltName}\n`);
  ssl(
    'x509',
    ...['-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
    ...['-days', '2', '-extfile', 'san.ext', '-out', 'server.pem'],
  );
  return { ca: join(dir, 'ca.pem'), key: join(dir, 'server.key'), cert: join(dir, 'server.pem') };
}

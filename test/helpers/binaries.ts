import { execFileSync } from 'node:child_process';

const HINTS: Record<string, string> = {
  'redis-server': 'apt-get install -y redis-server',
  nginx: 'apt-get install -y nginx-light',
  haproxy: 'apt-get install -y haproxy',
  caddy: 'apt-get install -y caddy',
  prometheus: 'apt-get install -y --no-install-recommends prometheus',
  'prometheus-node-exporter': 'apt-get install -y --no-install-recommends prometheus-node-exporter',
  git: 'apt-get install -y git',
  openssl: 'apt-get install -y openssl',
  python3: 'apt-get install -y python3',
  ip: 'apt-get install -y iproute2',
  unshare: 'apt-get install -y util-linux',
};

/** Path of a binary the tests need; a missing one fails loudly with how to install it, never a skip. */
export function requireBinary(name: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      `${name} is not installed; this test needs it. Install it with: ${HINTS[name] ?? `apt-get install -y ${name}`} (.ci/run does this)`,
    );
  }
}

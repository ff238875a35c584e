// The sites a scenario puts in front of its apps, and the playbook checks that look at them:
// one place, so a new world is its apps, one site line and its expectation.
import type { NginxEnv } from './nginx.js';

/** `proxy_pass` straight to one app on loopback. */
export const proxyPass = (port: number) => `proxy_pass http://127.0.0.1:${port};`;

/**
 * An nginx `server {}` on the private port whose `location /` proxies with `location`
 * (a `proxy_pass …;`, an `include …;`), 1 s to connect and `readTimeout` to read;
 * `upstreams` (`upstream checkout { … }`) stand before it.
 */
export function nginxSite(location: string, opts: { readTimeout?: string; upstreams?: string } = {}) {
  return ({ port }: NginxEnv) =>
    `${opts.upstreams ? `${opts.upstreams}\n` : ''}server { listen 127.0.0.1:${port}; location / { proxy_connect_timeout 1s; proxy_read_timeout ${opts.readTimeout ?? '1s'}; ${location} } }`;
}

/** An `upstream checkout {}` block of the given loopback ports. */
export const upstreamBlock = (ports: number[]) =>
  `upstream checkout { ${ports.map((p) => `server 127.0.0.1:${p};`).join(' ')} }`;

/** The playbook's proxy check on a private nginx: five samples of `/healthz` and its error log. */
export function nginxProxyCheck(
  nginx: { url: string; errorLog: string },
  opts: { timeoutMs?: number; extra?: Record<string, unknown> } = {},
) {
  return {
    url: `${nginx.url}/healthz`,
    samples: 5,
    timeout_ms: opts.timeoutMs ?? 2000,
    error_log: { path: nginx.errorLog, format: 'nginx' },
    ...opts.extra,
  };
}

/** The playbook's proxy check on a private HAProxy: five samples through its frontend and its traffic log. */
export function haproxyProxyCheck(haproxy: { url: string; trafficLog: string }, timeoutMs = 3000) {
  return {
    url: `${haproxy.url}/healthz`,
    samples: 5,
    timeout_ms: timeoutMs,
    error_log: { path: haproxy.trafficLog, format: 'haproxy' },
  };
}

/** The playbook's upstream check: two probes of each target. */
export const upstreamCheck = (targets: string[], timeoutMs = 800) => ({
  targets,
  probes: 2,
  timeout_ms: timeoutMs,
});

/**
 * The load check of Node apps driven to saturation: one event loop saturates at one core,
 * and 60% CPU counts as saturated, leaving room for other work on a shared machine.
 */
export const saturationLoadCheck = (scrape: string[]) => ({
  scrape,
  sample_interval_ms: 1000,
  cores: 1,
  thresholds: { cpu: 0.6, memory: 0.9 },
});

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { accepts, stopDaemon } from './daemon.js';
import { freePort, waitFor } from './ports.js';

const run = promisify(execFile);

export interface HaproxyServer {
  name: string;
  /** host:port the server line dials. */
  address: string;
  /** Extra server options; `check inter 200 fall 1 rise 1` by default (health checks decide fast). */
  options?: string;
}

export interface PrivateHaproxy {
  /** http://127.0.0.1:PORT: the frontend users go through. */
  url: string;
  /** http://127.0.0.1:STATS_PORT: `/stats;csv` and the Prometheus exporter on `/metrics`. */
  statsUrl: string;
  /** Its traffic log (`option httplog`, one line per request), as HAProxy wrote it on stdout. */
  trafficLog: string;
  /** Its alerts ("Server be_app/app2 is DOWN"), as HAProxy wrote them on stderr. */
  alertLog: string;
  stop(): Promise<void>;
}

/**
 * A private HAProxy (Debian's, run in the foreground) on free ports: one frontend
 * in front of backend `backend` with the given servers (HTTP health checks on
 * `checkPath`), and a stats frontend serving the stats page and the Prometheus
 * exporter. Everything lives in a temp dir; the system's HAProxy is never touched.
 */
export async function startHaproxy(opts: {
  servers: HaproxyServer[];
  backend?: string;
  checkPath?: string;
  /** `stats auth user:pass` on the stats frontend. */
  statsAuth?: string;
}): Promise<PrivateHaproxy> {
  const bin = requireBinary('haproxy');
  const dir = mkdtempSync(join(tmpdir(), 'gw-haproxy-'));
  const backend = opts.backend ?? 'be_app';
  const conf = join(dir, 'haproxy.cfg');
  const trafficLog = join(dir, 'traffic.log');
  const alertLog = join(dir, 'alerts.log');
  let proc: ChildProcess | undefined;
  let port = 0;
  let statsPort = 0;

  const launch = async (): Promise<boolean> => {
    [port, statsPort] = [await freePort(), await freePort()];
    const servers = opts.servers
      .map((s) => `  server ${s.name} ${s.address} ${s.options ?? 'check inter 200 fall 1 rise 1'}`)
      .join('\n');
    writeFileSync(
      conf,
      `global
  log stdout format raw local0 info
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 5s
  timeout server 1s
  retries 1
frontend fe_app
  bind 127.0.0.1:${port}
  default_backend ${backend}
frontend fe_stats
  bind 127.0.0.1:${statsPort}
  no log
  stats enable
  stats uri /stats
  # Without it the stats page leaves the addr column empty: gatewatch learns names only.
  stats show-legends
${opts.statsAuth ? `  stats auth ${opts.statsAuth}\n` : ''}  http-request use-service prometheus-exporter if { path /metrics }
backend ${backend}
  balance roundrobin
  option httpchk GET ${opts.checkPath ?? '/healthz'}
${servers}
`,
    );
    try {
      await run(bin, ['-c', '-q', '-f', conf]);
    } catch (err) {
      throw new Error(`haproxy -c rejected the config: ${(err as { stderr?: string }).stderr ?? err}`);
    }
    const p = spawn(bin, ['-f', conf, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.pipe(createWriteStream(trafficLog, { flags: 'a' }));
    p.stderr?.pipe(createWriteStream(alertLog, { flags: 'a' }));
    await waitFor(
      async () => p.exitCode !== null || ((await accepts(port)) && (await accepts(statsPort))),
      10_000,
      `haproxy on ${port}/${statsPort}`,
    );
    return p.exitCode === null;
  };

  // Another process may take a free port between freePort() and HAProxy's bind: try once more.
  if (!(await launch()) && !(await launch())) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error('haproxy did not start');
  }

  return {
    url: `http://127.0.0.1:${port}`,
    statsUrl: `http://127.0.0.1:${statsPort}`,
    trafficLog,
    alertLog,
    async stop() {
      await stopDaemon(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** GETs HAProxy's stats CSV until `ready` accepts it: health checks take a few rounds to mark servers. */
export async function waitForStats(
  statsUrl: string,
  ready: (csv: string) => boolean,
  what: string,
  headers: Record<string, string> = {},
): Promise<string> {
  return waitFor(
    async () => {
      const res = await fetch(`${statsUrl}/stats;csv`, { headers });
      const csv = await res.text();
      return ready(csv) ? csv : null;
    },
    10_000,
    what,
  );
}

/** The `status` column of one server in a stats CSV. */
export function serverStatus(csv: string, backend: string, server: string): string | undefined {
  const [header = '', ...rows] = csv.split('\n');
  const names = header.replace(/^#\s*/, '').split(',');
  const row = rows.map((r) => r.split(',')).find((r) => r[0] === backend && r[1] === server);
  return row?.[names.indexOf('status')];
}

import { type ExpositionSample, parseExposition } from '../../load/exposition.js';
import { defined, getStatsPage, num } from './read.js';
import type {
  BackendView,
  StatsReader,
  StatsSnapshot,
  UpstreamFailure,
  UpstreamState,
  UpstreamView,
} from './types.js';

/** One CSV line; a value is quoted only when it holds a comma or a quote. */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** `UP`, `UP 1/3` (going down), `DOWN 1/2` (coming up), `MAINT`, `MAINT(via)`, `DRAIN`, `NOLB`, `no check`. */
function stateOf(status: string): UpstreamState {
  const s = status.trim().toUpperCase();
  if (s.startsWith('MAINT')) return 'maint';
  if (s.startsWith('DOWN')) return 'down';
  if (s.startsWith('UP') || s === 'DRAIN' || s === 'NOLB' || s === 'OPEN') return 'up';
  return 'unknown';
}

/**
 * The last health check's result to how the server fails (`* ` marks a check in
 * progress). A socket error says more in `last_chk` (`Connection reset by peer`).
 */
function failureOfCheck(checkStatus: string, checkCode: number | undefined, lastCheck = ''): UpstreamFailure {
  const s = checkStatus.replace(/^\*\s*/, '');
  if (s === 'L4CON' || (s === 'SOCKERR' && /refused/i.test(lastCheck))) return 'refused';
  if (s === 'L4TOUT') return 'connect_timeout';
  if (s === 'L6TOUT' || s === 'L7TOUT') return 'timeout';
  if (s === 'L6RSP' || s === 'L7RSP' || (s === 'SOCKERR' && /reset|broken pipe/i.test(lastCheck)))
    return 'reset';
  if (s === 'L7STS' && checkCode !== undefined && checkCode >= 500) return 'http_5xx';
  return 'unhealthy';
}

function queueFull(gauges: Record<string, number>): boolean {
  const { qcur, scur, slim } = gauges;
  return (qcur ?? 0) > 0 || (slim !== undefined && slim > 0 && scur !== undefined && scur >= slim);
}

function failureOf(
  state: UpstreamState,
  check: { status: string; code?: number; last?: string },
  gauges: Record<string, number>,
) {
  if (state === 'down') return failureOfCheck(check.status, check.code, check.last);
  return state === 'up' && queueFull(gauges) ? 'queue_full' : null;
}

const COUNTERS = ['stot', 'econ', 'eresp', 'wretr', 'wredis', 'hrsp_5xx', 'chkfail', 'chkdown'] as const;
const GAUGES = ['qcur', 'qmax', 'scur', 'slim', 'lastchg', 'check_duration', 'act'] as const;

/** `show stat` CSV (the stats page with `;csv`): parsed by header name, never by position. */
export function parseHaproxyCsv(text: string, backend: string | undefined) {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.replace(/^#\s*/, '');
  if (!header) return { upstreams: [], backends: [] };
  const names = splitCsv(header);
  const upstreams: UpstreamView[] = [];
  const backends: BackendView[] = [];
  for (const line of lines.slice(1)) {
    const cells = splitCsv(line);
    const row = (name: string) => cells[names.indexOf(name)] ?? '';
    const pxname = row('pxname');
    const svname = row('svname');
    if (svname === 'FRONTEND' || (backend !== undefined && pxname !== backend)) continue;
    const counters = defined(Object.fromEntries(COUNTERS.map((c) => [c, num(row(c))])));
    const gauges = defined(Object.fromEntries(GAUGES.map((g) => [g, num(row(g))])));
    const state = stateOf(row('status'));
    if (svname === 'BACKEND') {
      backends.push({ name: pxname, state, counters, gauges });
      continue;
    }
    const check = row('check_status');
    const words = [row('status'), check.replace(/^\*\s*/, ''), row('last_chk') || row('check_desc')]
      .filter(Boolean)
      .join(' ');
    upstreams.push({
      name: svname,
      backend: pxname,
      address: row('addr') || null,
      state,
      failure: failureOf(
        state,
        { status: check, code: num(row('check_code')), last: row('last_chk') },
        gauges,
      ),
      detail: words,
      counters,
      gauges,
    });
  }
  return { upstreams, backends };
}

function byServer(samples: readonly ExpositionSample[], name: string) {
  const out = new Map<string, ExpositionSample[]>();
  for (const s of samples)
    if (s.name === name && s.labels.server !== undefined) {
      const key = `${s.labels.proxy}/${s.labels.server}`;
      out.set(key, [...(out.get(key) ?? []), s]);
    }
  return out;
}

/** The state label set to 1, or (HAProxy 2.0-2.3) one numeric gauge: 0 DOWN, 1 UP, 2 MAINT. */
function stateLabel(samples: readonly ExpositionSample[] | undefined): string | undefined {
  if (!samples?.length) return undefined;
  const on = samples.find((s) => s.labels.state !== undefined && s.value === 1);
  if (on) return on.labels.state;
  const plain = samples.find((s) => s.labels.state === undefined);
  return plain ? (['DOWN', 'UP', 'MAINT'][plain.value] ?? undefined) : undefined;
}

/** The built-in Prometheus exporter (`prometheus-exporter` service): same facts, no server address. */
export function parseHaproxyMetrics(text: string, backend: string | undefined) {
  const samples = parseExposition(text).filter((s) => backend === undefined || s.labels.proxy === backend);
  const value = (
    name: string,
    proxy: string,
    server?: string,
    extra: (l: Record<string, string>) => boolean = () => true,
  ) => {
    const hit = samples.filter(
      (s) => s.name === name && s.labels.proxy === proxy && s.labels.server === server && extra(s.labels),
    );
    return hit.length ? hit.reduce((a, s) => a + s.value, 0) : undefined;
  };
  const statuses = byServer(samples, 'haproxy_server_status');
  const checks = byServer(samples, 'haproxy_server_check_status');
  const upstreams: UpstreamView[] = [];
  for (const [key, rows] of statuses) {
    const [proxy = '', server = ''] = key.split('/');
    const status = stateLabel(rows) ?? 'unknown';
    const check = stateLabel(checks.get(key)) ?? '';
    const state = stateOf(status);
    const gauges = defined({
      qcur: value('haproxy_server_current_queue', proxy, server),
      scur: value('haproxy_server_current_sessions', proxy, server),
      slim: value('haproxy_server_limit_sessions', proxy, server),
    });
    upstreams.push({
      name: server,
      backend: proxy,
      address: null,
      state,
      failure: failureOf(state, { status: check }, gauges),
      // No current check result: a check is in progress (the exporter lists finished results only).
      detail: check ? `${status} ${check}` : state === 'down' ? `${status}, check in progress` : status,
      counters: defined({
        stot: value('haproxy_server_sessions_total', proxy, server),
        econ: value('haproxy_server_connection_errors_total', proxy, server),
        eresp: value('haproxy_server_response_errors_total', proxy, server),
        wretr: value('haproxy_server_retry_warnings_total', proxy, server),
        hrsp_5xx: value('haproxy_server_http_responses_total', proxy, server, (l) => l.code === '5xx'),
      }),
      gauges,
    });
  }
  const proxies = new Set(
    samples.filter((s) => s.name.startsWith('haproxy_backend_')).map((s) => s.labels.proxy ?? ''),
  );
  const backends: BackendView[] = [...proxies].map((proxy) => {
    const status = samples.find(
      (s) => s.name === 'haproxy_backend_status' && s.labels.proxy === proxy && s.value === 1,
    );
    return {
      name: proxy,
      state: stateOf(status?.labels.state ?? (status ? 'UP' : 'unknown')),
      counters: defined({
        econ: value('haproxy_backend_connection_errors_total', proxy),
        eresp: value('haproxy_backend_response_errors_total', proxy),
        hrsp_5xx: value('haproxy_backend_http_responses_total', proxy, undefined, (l) => l.code === '5xx'),
      }),
      gauges: defined({
        qcur: value('haproxy_backend_current_queue', proxy),
        act: value('haproxy_backend_active_servers', proxy),
      }),
    };
  });
  return { upstreams, backends };
}

/** HAProxy's stats page (`;csv`) or its Prometheus endpoint: which one is told by the answer itself. */
export const readHaproxyStats: StatsReader = async (req): Promise<StatsSnapshot> => {
  const page = await getStatsPage(req, req.config.url, 'text/csv, text/plain;q=0.9');
  const csv = page.text.trimStart().startsWith('# pxname');
  const parsed = csv
    ? parseHaproxyCsv(page.text, req.config.backend)
    : parseHaproxyMetrics(page.text, req.config.backend);
  return { ...parsed, bytes: page.bytes, truncated: page.truncated, says_how: true };
};

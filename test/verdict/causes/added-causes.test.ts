// Table tests of the seven causes added to the contract on 2026-11-28: each rule
// speaks on its evidence and stays silent on the look-alikes it must not claim.
import { describe, expect, it } from 'vitest';
import { deployDrain } from '../../../src/verdict/causes/deploy-drain.js';
import { memoryLeak } from '../../../src/verdict/causes/memory-leak.js';
import { networkPath } from '../../../src/verdict/causes/network-path.js';
import { responseRejected } from '../../../src/verdict/causes/response-rejected.js';
import { upstreamKeepalive } from '../../../src/verdict/causes/upstream-keepalive.js';
import { upstreamTls } from '../../../src/verdict/causes/upstream-tls.js';
import { workerPoolExhausted } from '../../../src/verdict/causes/worker-pool-exhausted.js';
import type { Evidence, Rule } from '../../../src/verdict/types.js';
import {
  change,
  changesResult,
  ev,
  load,
  loadRow,
  ONSET,
  proxy,
  proxyLogOf,
  proxySample,
  target,
  upstream,
} from '../build.js';

const idle = load(loadRow('127.0.0.1:9100', 0.05));
const busy = load(loadRow('127.0.0.1:9100', 0.97));
const leakRow = (over: Parameters<typeof loadRow>[2] = {}) =>
  loadRow('127.0.0.1:9100', 0.1, {
    memory: 0.7,
    memory_bytes: 70e6,
    memory_limit_bytes: 100e6,
    uptime_s: 40,
    memory_growth_bytes_per_s: 400e3,
    ...over,
  });

type Case = { name: string; e: Evidence; words?: RegExp };

function table(rule: Rule, cause: string, yes: Case[], no: Case[]) {
  describe(cause, () => {
    it.each(yes)('$name → ' + cause, ({ e, words }) => {
      const f = rule(e);
      expect(f?.cause).toBe(cause);
      expect(f!.actions.length).toBeGreaterThan(0);
      if (words) expect(f!.actions.join(' ')).toMatch(words);
    });
    it.each(no)('$name → not ' + cause, ({ e }) => {
      expect(rule(e)?.cause ?? null).not.toBe(cause);
    });
  });
}

table(
  upstreamKeepalive,
  'upstream_keepalive',
  [
    {
      name: 'premature closes, healthy idle target advertising 5 s',
      e: ev(
        upstream(target(1, 'ok', { keep_alive_s: 5 })),
        proxy(proxySample({ 200: 5 }), proxyLogOf([['premature_close', 4, '127.0.0.1:1']])),
        idle,
      ),
      words: /keepAliveTimeout = 65000/,
    },
  ],
  [
    {
      name: 'no keep-alive timeout advertised',
      e: ev(upstream(target(1)), proxy(proxyLogOf([['premature_close', 4, '127.0.0.1:1']]))),
    },
    {
      name: 'refusals too: a crash loop',
      e: ev(
        upstream(target(1, 'ok', { keep_alive_s: 5 })),
        proxy(
          proxyLogOf([
            ['premature_close', 4, '127.0.0.1:1'],
            ['refused', 2, '127.0.0.1:1'],
          ]),
        ),
      ),
    },
    {
      name: 'a single line',
      e: ev(upstream(target(1, 'ok', { keep_alive_s: 5 })), proxy(proxyLogOf([['reset', 1, '127.0.0.1:1']]))),
    },
    {
      name: 'the host is saturated',
      e: ev(
        upstream(target(1, 'ok', { keep_alive_s: 5 })),
        proxy(proxyLogOf([['premature_close', 4, '127.0.0.1:1']])),
        busy,
      ),
    },
  ],
);

table(
  responseRejected,
  'response_rejected',
  [
    {
      name: 'too big header, target answers',
      e: ev(
        upstream(target(1, 'ok', { header_bytes: 12_000 })),
        proxy(proxySample({ 502: 5 }), proxyLogOf([['header_too_big', 5, '127.0.0.1:1']])),
      ),
      words: /proxy_buffer_size 16k/,
    },
    {
      name: 'no valid HTTP/1.0 header',
      e: ev(proxy(proxySample({ 502: 5 }), proxyLogOf([['protocol_error', 3, '127.0.0.1:1']]))),
      words: /proxy_pass https/,
    },
  ],
  [
    {
      name: 'rejections that stopped 10 min ago, fine now',
      e: ev(
        proxy(
          proxySample({ 200: 5 }),
          proxyLogOf([['header_too_big', 5, '127.0.0.1:1', undefined, [12, 10]]]),
        ),
      ),
    },
    { name: 'timeouts only', e: ev(proxy(proxyLogOf([['timeout', 5, '127.0.0.1:1']]))) },
  ],
);

table(
  upstreamTls,
  'upstream_tls',
  [
    {
      name: 'the log says certificate expired',
      e: ev(
        upstream(target(1)),
        proxy(
          proxySample({ 502: 5 }),
          proxyLogOf([
            ['tls', 5, '127.0.0.1:1', 'upstream SSL certificate verify error: (10:certificate has expired)'],
          ]),
        ),
      ),
      words: /Renew/,
    },
    {
      name: 'the probe fails the handshake on a wrong name',
      e: ev(upstream(target(1, 'tls', { error: "Hostname/IP does not match certificate's altnames" }))),
      words: /proxy_ssl_name/,
    },
  ],
  [{ name: 'healthy target, no tls lines', e: ev(upstream(target(1)), proxy(proxySample({ 200: 5 }))) }],
);

table(
  workerPoolExhausted,
  'worker_pool_exhausted',
  [
    {
      name: 'EAGAIN on the unix socket, idle host',
      e: ev(proxy(proxySample({ 502: 5 }), proxyLogOf([['backlog_full', 9, 'unix:/run/php.sock']])), idle),
      words: /pm\.max_children/,
    },
    {
      name: 'the probe finds the backlog full',
      e: ev(upstream(target(0, 'busy', { host: '/run/php.sock', connect_ms: null }))),
    },
  ],
  [
    {
      name: 'the host is saturated: capacity',
      e: ev(proxy(proxySample({ 502: 5 }), proxyLogOf([['backlog_full', 9, 'unix:/run/php.sock']])), busy),
    },
    { name: 'refusals only', e: ev(proxy(proxyLogOf([['refused', 9, '127.0.0.1:1']]))) },
  ],
);

table(
  memoryLeak,
  'memory_leak',
  [
    {
      name: 'restarted 40 s ago, climbing 24 MB/min of a 100 MB limit, refusals in the log',
      e: ev(proxy(proxyLogOf([['refused', 5, '127.0.0.1:1']])), load(leakRow())),
      words: /heap snapshots/,
    },
  ],
  [
    {
      name: 'steady working set at the limit',
      e: ev(
        proxy(proxyLogOf([['refused', 5, '127.0.0.1:1']])),
        load(leakRow({ memory_growth_bytes_per_s: 0 })),
      ),
    },
    {
      name: 'growing but up for hours: not restarting',
      e: ev(proxy(proxyLogOf([['refused', 5, '127.0.0.1:1']])), load(leakRow({ uptime_s: 7200 }))),
    },
    { name: 'no trouble seen', e: ev(upstream(target(1)), load(leakRow())) },
  ],
);

table(
  networkPath,
  'network_path',
  [
    {
      name: "connect timeouts to a target's own address that takes connections from here",
      e: ev(
        upstream(target(1)),
        proxy(proxySample({ 504: 5 }), proxyLogOf([['connect_timeout', 6, '127.0.0.1:1']])),
        idle,
      ),
      words: /nc -vz/,
    },
  ],
  [
    {
      name: 'timeouts to an address that is no target',
      e: ev(upstream(target(1)), proxy(proxyLogOf([['connect_timeout', 6, '10.9.9.9:80']]))),
    },
    {
      name: 'the target fails from here too',
      e: ev(
        upstream(target(1, 'timeout', { connect_ms: null })),
        proxy(proxyLogOf([['connect_timeout', 6, '127.0.0.1:1']])),
      ),
    },
    {
      name: 'refusals are not a path problem',
      e: ev(upstream(target(1)), proxy(proxyLogOf([['refused', 6, '127.0.0.1:1']]))),
    },
  ],
);

const burst = (when: [number, number]) => proxyLogOf([['refused', 6, '127.0.0.1:1', undefined, when]], ONSET);
table(
  deployDrain,
  'deploy_drain',
  [
    {
      name: 'a 1-minute burst of refusals starting a minute after a deploy',
      e: ev(
        upstream(target(1)),
        proxy(proxySample({ 200: 5 }), burst([9, 8])),
        changesResult(change('deploy', 10)),
      ),
      words: /SIGTERM/,
    },
  ],
  [
    {
      name: 'no deploy near the burst',
      e: ev(
        upstream(target(1)),
        proxy(proxySample({ 200: 5 }), burst([9, 8])),
        changesResult(change('deploy', 14)),
      ),
    },
    {
      name: 'errors spread over 12 minutes: not a restart burst',
      e: ev(upstream(target(1)), proxy(burst([13, 1])), changesResult(change('deploy', 13))),
    },
    {
      name: 'a target still down',
      e: ev(upstream(target(1, 'refused')), proxy(burst([9, 8])), changesResult(change('deploy', 10))),
    },
  ],
);

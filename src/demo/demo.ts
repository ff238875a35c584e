import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { start } from '../main.js';
import type { Playbook } from '../playbooks/schema.js';
import { PlaybookSchema } from '../playbooks/schema.js';
import { createRedis, redisAnswers } from '../redis.js';
import { signPagerDuty } from '../signing.js';
import { LocalSlack } from './local-slack.js';

const HOW_TO_GET_REDIS = `gatewatch demo needs a Redis server, and none answered at %URL%.
Start one, then run the demo again:
  Debian/Ubuntu:  sudo apt-get install -y redis-server && redis-server --port 6379 --save '' --daemonize yes
  macOS:          brew install redis && redis-server --daemonize yes
  Docker:         docker run -d -p 6379:6379 redis:7
Or point REDIS_URL at one you have (REDIS_URL=redis://host:6379 npm run demo).`;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Removes every key the demo wrote, so a shared Redis is left as it was found. */
async function cleanRedis(url: string, prefix: string): Promise<void> {
  const redis = createRedis(url, 'worker');
  const stream = redis.scanStream({ match: `${prefix}*`, count: 500 });
  for await (const keys of stream) if ((keys as string[]).length) await redis.del(...(keys as string[]));
  await redis.quit();
}

/**
 * The newcomer's tour: two healthy upstreams, then both stopped; a real,
 * signed PagerDuty `incident.triggered` goes to a gatewatch the demo runs, and
 * the Slack thread it produces is printed as a person would read it.
 */
export async function runDemo(opts: { out: (s: string) => void; env?: NodeJS.ProcessEnv }): Promise<void> {
  const env = opts.env ?? process.env;
  const say = (s = '') => opts.out(`${s}\n`);
  const base = loadConfig(env);
  const probe = createRedis(base.REDIS_URL, 'http');
  const ok = await redisAnswers(probe, 1500);
  probe.disconnect();
  if (!ok) {
    process.stderr.write(`${HOW_TO_GET_REDIS.replace('%URL%', base.REDIS_URL)}\n`);
    process.exitCode = 1;
    return;
  }

  const fixture = await readFile(new URL('./pagerduty-incident.triggered.json', import.meta.url), 'utf8');
  const pdServiceId = (JSON.parse(fixture) as { event: { data: { service: { id: string } } } }).event.data
    .service.id;
  const upstreams = [0, 1].map(() => createServer((_, res) => res.end('ok')));
  const ports = await Promise.all(upstreams.map(listen));
  const playbook: Playbook = PlaybookSchema.parse({
    service: 'demo-shop',
    description: 'The demo shop behind a local proxy',
    match: { pagerduty_services: [pdServiceId] },
    slack: { channel: '#demo-incidents' },
    checks: { upstream: { targets: ports.map((p) => `http://127.0.0.1:${p}/healthz`), timeout_ms: 1000 } },
    timeouts: { check_ms: 5000, total_ms: 10000 },
  });

  const realSlack = Boolean(env.SLACK_BOT_TOKEN);
  const slack = realSlack ? null : await new LocalSlack().start();
  const secret = randomBytes(24).toString('base64');
  const prefix = `{gatewatch-demo-${randomBytes(4).toString('hex')}}`;
  const config = loadConfig({
    ...env,
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_PREFIX: prefix,
    PAGERDUTY_WEBHOOK_SECRETS: secret,
    ...(slack ? { SLACK_BOT_TOKEN: 'xoxb-local-demo', SLACK_API_URL: slack.url } : {}),
    ...(realSlack && env.SLACK_CHANNEL ? {} : { SLACK_CHANNEL: '#demo-incidents' }),
  });
  const log = createLogger({ level: env.LOG_LEVEL ?? 'warn' });
  const running = await start({
    config,
    log,
    serve: true,
    work: true,
    playbooks: new Map([[playbook.service, playbook]]),
  });

  try {
    say('gatewatch demo — is it broken (fix) or out of capacity (scale up)?');
    say();
    say(`1. Two upstreams of "demo-shop" answer on 127.0.0.1:${ports[0]} and 127.0.0.1:${ports[1]}.`);
    await Promise.all(upstreams.map(closeServer));
    say('2. Both are stopped now: a proxy in front of them would answer 502 Bad Gateway.');
    const headers = {
      'content-type': 'application/json',
      'x-pagerduty-signature': signPagerDuty(fixture, secret),
      'x-webhook-id': `demo-${randomBytes(6).toString('hex')}`,
      'user-agent': 'PagerDuty-Webhook/V3.0',
    };
    const t0 = performance.now();
    const res = await request(`http://127.0.0.1:${running.port}/webhooks/pagerduty`, {
      method: 'POST',
      headers,
      body: fixture,
    });
    say(
      `3. PagerDuty sends incident.triggered (signed, real payload) → gatewatch answers ${res.statusCode} ${await res.body.text()}`,
    );
    if (slack) {
      await slack.waitFor(
        () => slack.messages.find((m) => m.metadata?.event_type === 'gatewatch_verdict'),
        20_000,
      );
      // The root message is edited once more with the outcome; print the thread after that.
      await slack
        .waitFor(() => slack.roots().every((r) => !r.text.includes('diagnosing')), 5000)
        .catch(() => undefined);
      say(`4. Verdict posted ${Math.round(performance.now() - t0)} ms after the alert. The Slack thread:`);
      say();
      say(slack.transcript());
    } else {
      say('4. Posting to your Slack workspace; waiting for the verdict…');
      await new Promise((r) => setTimeout(r, 8000));
      say('   Look in the channel for the thread.');
    }
    say();
    say(
      'Next: write a playbook for your own service (playbooks/*.yaml) and try `npx gatewatch check SERVICE`.',
    );
  } finally {
    await running.close();
    await slack?.stop();
    await Promise.all(upstreams.map((s) => (s.listening ? closeServer(s) : undefined)));
    await cleanRedis(config.REDIS_URL, prefix);
  }
}

import { clamp, hostPort, logActive, logSignatures, targets } from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

const REJECTED = ['header_too_big', 'protocol_error'] as const;

/**
 * The upstream answers, but the proxy throws the answer away: headers larger
 * than its buffer, or something that is not HTTP/1.x (a TLS or HTTP/2-only port
 * spoken to in plain HTTP/1, a non-HTTP service). The upstream's own probe
 * usually succeeds, which is why this looks like a healthy target behind a 502.
 */
export const responseRejected: Rule = (ev) => {
  const sigs = logSignatures(ev, REJECTED);
  const count = sigs.reduce((a, s) => a + s.count, 0);
  if (count === 0 || !logActive(ev)) return null;
  const tooBig = sigs.find((s) => s.id === 'header_too_big');
  const answering = targets(ev).filter((t) => t.http_status !== null);
  const biggest = Math.max(0, ...answering.map((t) => t.header_bytes ?? 0));
  const where = sigs.flatMap((s) => s.upstreams.map((u) => u.address)).slice(0, 3);
  const list = where.join(', ') || answering.map(hostPort).join(', ') || 'the upstream';
  const what = tooBig
    ? `response headers larger than the proxy's buffer (\`upstream sent too big header\`${biggest ? `; its headers are ${biggest} bytes` : ''})`
    : `a response that is not valid HTTP (\`${sigs[0]?.raw}\`)`;
  return {
    cause: 'response_rejected',
    confidence: clamp(0.75 + (answering.length > 0 ? 0.1 : 0)),
    summary: `${list} answer${where.length === 1 ? 's' : ''}, but the proxy rejects the answer: ${what} (${count} in the log).`,
    actions: tooBig
      ? [
          `Raise the proxy's header buffer above the largest header block${biggest ? ` (${biggest} bytes)` : ''}: nginx \`proxy_buffer_size 16k; proxy_buffers 8 16k; proxy_busy_buffers_size 32k;\` (default 4k/8k, one memory page; \`fastcgi_buffer_size\` for FastCGI), HAProxy \`tune.bufsize 32768\`.`,
          'Or shrink what the app sends: oversized cookies (Set-Cookie), long redirect URLs, debug headers.',
        ]
      : [
          "Check that the proxy speaks the upstream's protocol: `proxy_pass https://` for a TLS port, `grpc_pass` for gRPC/HTTP/2-only servers, `proxy_http_version 1.1` for keep-alive; and that the port is the app's HTTP port, not another service.",
          `Look at what ${list} really sends: \`curl -v --http1.1 http://${where[0] ?? 'HOST:PORT'}/\`.`,
        ],
  };
};

export const responseRejectedCause = defineCause({
  id: 'response_rejected',
  recommendation: 'fix',
  label: 'The upstream answers, but the proxy rejects the answer (headers too big, invalid HTTP).',
  rule: responseRejected,
  triggeredBy: ['deploy', 'config'],
  colour: '#393b79',
});

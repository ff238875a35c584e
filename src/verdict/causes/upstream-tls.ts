import { clamp, hostPort, logActive, logSignatures, targets } from '../evidence.js';
import type { Rule } from '../types.js';
import { defineCause } from './cause.js';

/** The setting that fixes what the proxy's (or the probe's) TLS error says. */
function tlsAction(words: string): string {
  if (/expired|not yet valid/i.test(words))
    return "Renew the upstream's certificate (it is expired or not yet valid) and reload the app; then put its expiry under monitoring.";
  if (/does not match|hostname|altname|IP: /i.test(words))
    return 'The certificate does not name the host the proxy asks for: reissue it with that name in subjectAltName, or set nginx `proxy_ssl_name` to a name it carries (with `proxy_ssl_server_name on;` for SNI).';
  if (/version|protocol|no protocols/i.test(words))
    return 'Proxy and upstream share no TLS version: align nginx `proxy_ssl_protocols TLSv1.2 TLSv1.3;` with what the upstream offers.';
  if (/self.signed|unable to get|issuer|unknown ca|verify/i.test(words))
    return 'The proxy does not trust the issuer: point nginx `proxy_ssl_trusted_certificate` at the CA bundle that signed it (and `proxy_ssl_verify_depth`), or serve the full chain from the upstream.';
  return 'Compare what the upstream presents (`openssl s_client -connect HOST:PORT -servername NAME`) with what the proxy expects (`proxy_ssl_*` settings).';
}

/** The TLS handshake or certificate check between proxy and upstream fails. */
export const upstreamTls: Rule = (ev) => {
  const sigs = logSignatures(ev, ['tls']);
  const logCountTls = logActive(ev) ? sigs.reduce((a, s) => a + s.count, 0) : 0;
  const failing = targets(ev).filter((t) => t.outcome === 'tls');
  if (logCountTls === 0 && failing.length === 0) return null;
  const words = [sigs[0]?.raw ?? '', ...failing.map((t) => t.error ?? '')].join(' ');
  const where = failing.length
    ? failing.map(hostPort)
    : sigs.flatMap((s) => s.upstreams.map((u) => u.address)).slice(0, 3);
  const list = where.join(', ') || 'the upstream';
  return {
    cause: 'upstream_tls',
    // The probe failing alone may be its own missing CA (ca_file): less sure than the proxy saying so.
    confidence: clamp(logCountTls > 0 && failing.length > 0 ? 0.9 : logCountTls > 0 ? 0.8 : 0.7),
    summary: `TLS to ${list} fails${logCountTls ? ` (${logCountTls} handshakes in the proxy's log: ${sigs[0]?.raw})` : ''}${failing.length ? `${logCountTls ? '; ' : ' '}the probe from here fails too (${failing[0]?.error ?? 'tls'})` : ''}.`,
    actions: [
      tlsAction(words),
      `Check it by hand from the proxy host: \`openssl s_client -connect ${where[0] ?? 'HOST:PORT'} -servername NAME -verify_return_error\`.`,
    ],
  };
};

export const upstreamTlsCause = defineCause({
  id: 'upstream_tls',
  recommendation: 'fix',
  label: 'The TLS handshake or certificate check from the proxy to the upstream fails.',
  rule: upstreamTls,
  triggeredBy: ['deploy', 'config'],
  colour: '#637939',
});

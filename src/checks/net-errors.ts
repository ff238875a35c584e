/** How a connection attempt to an upstream ended, in the words an SRE uses. */
export type ProbeOutcome =
  | 'ok'
  | 'refused'
  | 'reset'
  | 'timeout'
  | 'dns'
  | 'tls'
  | 'http_5xx'
  | 'http_4xx'
  /** The listen backlog is full: a unix socket answers EAGAIN (a worker pool with no free worker). */
  | 'busy'
  | 'error';

const TLS_CODES =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT|EPROTO$|ERR_OSSL)/;

function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string') codes.push(name);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** Maps a Node/undici network error onto a probe outcome by its error codes, never by its wording. */
export function classifyNetworkError(err: unknown): ProbeOutcome {
  const codes = codesOf(err);
  const has = (...c: string[]) => codes.some((x) => c.includes(x));
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'ENODATA')) return 'dns';
  if (has('ECONNREFUSED')) return 'refused';
  if (
    has(
      'UND_ERR_CONNECT_TIMEOUT',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
      'ETIMEDOUT',
      'TimeoutError',
      'ConnectTimeoutError',
      'HeadersTimeoutError',
      'BodyTimeoutError',
    )
  )
    return 'timeout';
  if (codes.some((c) => TLS_CODES.test(c))) return 'tls';
  if (has('ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'SocketError', 'ECONNABORTED', 'HPE_INVALID_CONSTANT'))
    return 'reset';
  if (has('EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL')) return 'refused';
  if (has('EAGAIN')) return 'busy';
  return 'error';
}

export function outcomeForStatus(status: number): ProbeOutcome {
  if (status >= 500) return 'http_5xx';
  if (status >= 400) return 'http_4xx';
  return 'ok';
}

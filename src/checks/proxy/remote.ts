import { Agent, request } from 'undici';
import type { z } from 'zod';
import { readBounded } from '../../bounded-body.js';
import { errorMessage, GatewatchError, isGatewatchError } from '../../errors.js';
import { classifyNetworkError } from '../net-errors.js';

/** The `*_env` names a remote endpoint's credentials live in (never the values). */
export interface RemoteAuth {
  token_env?: string;
  username?: string;
  password_env?: string;
  api_key_env?: string;
}

export function secret(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const value = env[name];
  if (value === undefined || value === '')
    throw new GatewatchError('CONFIG_INVALID', `environment variable ${name} is not set`, {
      retryable: false,
    });
  return value;
}

/** The Authorization header the playbook asks for, read from the environment; none without auth. */
export function authHeaders(
  auth: RemoteAuth,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  if (auth.api_key_env) return { authorization: `ApiKey ${secret(env, auth.api_key_env)}` };
  if (auth.token_env) return { authorization: `Bearer ${secret(env, auth.token_env)}` };
  if (auth.username && auth.password_env) {
    const pair = `${auth.username}:${secret(env, auth.password_env)}`;
    return { authorization: `Basic ${Buffer.from(pair).toString('base64')}` };
  }
  return {};
}

/** A URL fit for evidence: no user:password, no query string (tokens hide there too). */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

export interface RemoteAnswer {
  status: number;
  contentType: string;
  text: string;
  /** Body bytes kept: never more than maxBytes. */
  bytes: number;
  /** The body was longer than maxBytes and was cut there. */
  truncated: boolean;
}

/**
 * One HTTP request to a log store or a proxy's stats endpoint, bounded in time
 * (timeoutMs, and the caller's signal) and in size (maxBytes; the rest of the body
 * is never read). The connection is closed afterwards: nothing lingers in a pool.
 */
export async function remoteRequest(opts: {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxBytes: number;
  signal: AbortSignal;
}): Promise<RemoteAnswer> {
  const signal = AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]);
  // Its own connection, destroyed when done: an abort or timeout leaves no socket behind in a shared pool.
  const dispatcher = new Agent({ connect: { timeout: opts.timeoutMs }, keepAliveTimeout: 1, pipelining: 0 });
  try {
    return await requestBounded(opts, signal, dispatcher);
  } finally {
    dispatcher.destroy().catch(() => {});
  }
}

async function requestBounded(
  opts: Parameters<typeof remoteRequest>[0],
  signal: AbortSignal,
  dispatcher: Agent,
): Promise<RemoteAnswer> {
  const res = await request(opts.url, {
    dispatcher,
    method: opts.method ?? 'GET',
    signal,
    reset: true,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    headers: { 'user-agent': 'gatewatch/proxy-check', ...opts.headers },
    body: opts.body,
  });
  const body = await readBounded(res.body, opts.maxBytes);
  const type = res.headers['content-type'];
  return {
    status: res.statusCode,
    contentType: typeof type === 'string' ? type : '',
    ...body,
  };
}

/** A short, single-line excerpt of an error body for the evidence (bodies may be pages of HTML). */
export function excerpt(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** A remote's failure as the check reports it: what was asked, what it said, whether a retry may help. */
export function remoteError(what: string, answer: RemoteAnswer, reason: string): GatewatchError {
  const retryable = answer.status === 429 || answer.status >= 500;
  return new GatewatchError('CHECK_FAILED', `${what} answered HTTP ${answer.status}: ${reason}`, {
    retryable,
    details: { status: answer.status },
  });
}

/** Why a remote read failed, in words fit for evidence: the store's own reason, or what the network did. */
export function remoteFailure(err: unknown, timeoutMs: number): string {
  if (isGatewatchError(err)) return err.message;
  switch (classifyNetworkError(err)) {
    case 'timeout':
      return `no answer within ${timeoutMs} ms`;
    case 'refused':
      return 'connection refused';
    case 'dns':
      return 'its name does not resolve';
    case 'reset':
      return 'the connection was reset';
    case 'tls':
      return `TLS failed: ${errorMessage(err)}`;
    default:
      return errorMessage(err);
  }
}

/**
 * A remote's JSON answer, checked: a non-2xx status is an error with `reason(body)`,
 * an answer cut at max_bytes is an error saying how to narrow it (cut JSON cannot be
 * read), and a body that is not `schema` is an error naming `what` was expected.
 */
export function jsonAnswer<T>(
  answer: RemoteAnswer,
  opts: {
    where: string;
    schema: z.ZodType<T>;
    what: string;
    reason: (body: string) => string;
    narrow: string;
  },
): T {
  if (answer.status < 200 || answer.status > 299)
    throw remoteError(opts.where, answer, opts.reason(answer.text));
  if (answer.truncated)
    throw new GatewatchError(
      'CHECK_FAILED',
      `${opts.where} answered more than max_bytes (${answer.bytes}): ${opts.narrow}`,
      {
        retryable: false,
      },
    );
  try {
    return opts.schema.parse(JSON.parse(answer.text));
  } catch {
    throw new GatewatchError('CHECK_FAILED', `${opts.where} answered something that is not ${opts.what}`, {
      retryable: false,
    });
  }
}

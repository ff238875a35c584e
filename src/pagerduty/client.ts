import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { z } from 'zod';
import { MiB, readBounded } from '../bounded-body.js';
import { errorMessage, GatewatchError } from '../errors.js';
import type { Logger } from '../log.js';

export interface PagerDutyClientOptions {
  token: string;
  /** PAGERDUTY_API_URL, ending in "/". */
  baseUrl: string;
  /** Email of a PagerDuty user, sent as `From`: account-level tokens require it, user tokens ignore it. */
  from?: string;
  log: Logger;
  attempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  /** Never wait longer than this for a Retry-After, whatever PagerDuty says. */
  maxRetryAfterMs?: number;
}

const ErrorBody = z.object({
  error: z.object({
    message: z.string().optional(),
    code: z.number().optional(),
    errors: z.array(z.string()).optional(),
  }),
});
const IncidentAnswer = z.object({ incident: z.object({ id: z.string(), status: z.string() }) });
const NoteAnswer = z.object({ note: z.object({ id: z.string() }) });

const ANSWER_CAP_BYTES = MiB;

type Attempt = { status: number; headers: Record<string, string | string[] | undefined>; text: string };

/** Why a failed attempt may succeed later: rate limits, PagerDuty's 5xx, the network. */
function transientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

function retryAfterMs(headers: Attempt['headers'], cap: number): number | null {
  const raw = headers['retry-after'];
  const v = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isFinite(v) && v >= 0 ? Math.min(v * 1000, cap) : null;
}

/**
 * PagerDuty's REST API (v2), the two calls gatewatch makes: acknowledge an
 * incident and add a note to it. Retries 429 (as Retry-After says), 5xx and
 * network errors with backoff; the token never appears in an error or a log.
 */
export class PagerDutyClient {
  constructor(private readonly opts: PagerDutyClientOptions) {}

  async acknowledge(incidentId: string): Promise<{ id: string; status: string }> {
    const body = {
      incident: { type: 'incident_reference', status: 'acknowledged' },
    };
    const json = await this.call('PUT', `incidents/${encodeURIComponent(incidentId)}`, body);
    return this.parse(IncidentAnswer, json, 'acknowledge').incident;
  }

  async addNote(incidentId: string, content: string): Promise<{ id: string }> {
    // PagerDuty caps a note at 25,000 characters; verdicts are far shorter, but never send one it refuses.
    const note = {
      note: { content: content.length > 24_000 ? `${content.slice(0, 23_980)}… (truncated)` : content },
    };
    const json = await this.call('POST', `incidents/${encodeURIComponent(incidentId)}/notes`, note);
    return this.parse(NoteAnswer, json, 'add note').note;
  }

  private parse<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
    const r = schema.safeParse(json);
    if (!r.success)
      throw new GatewatchError(
        'PAGERDUTY_API',
        `PagerDuty ${what}: unexpected answer (${r.error.issues[0]?.message})`,
        {
          retryable: false,
        },
      );
    return r.data;
  }

  private async call(method: 'PUT' | 'POST', path: string, body: unknown): Promise<unknown> {
    const attempts = this.opts.attempts ?? 4;
    const base = this.opts.baseDelayMs ?? 300;
    const url = new URL(path, this.opts.baseUrl);
    const log = this.opts.log.child({ pagerduty: `${method} /${path}` });
    for (let attempt = 1; ; attempt++) {
      let res: Attempt | null = null;
      let networkError: unknown = null;
      try {
        res = await this.send(method, url, body);
      } catch (err) {
        // An answer that is wrong in itself (too large) will be as wrong the next time.
        if (err instanceof GatewatchError && !err.retryable) throw err;
        networkError = err;
      }
      if (res && res.status >= 200 && res.status < 300) return res.text ? JSON.parse(res.text) : {};
      const retryable = networkError !== null || (res !== null && transientStatus(res.status));
      const why = res ? `HTTP ${res.status}${this.errorText(res.text)}` : errorMessage(networkError);
      if (!retryable || attempt >= attempts)
        throw new GatewatchError('PAGERDUTY_API', `PagerDuty ${method} /${path} failed: ${why}`, {
          retryable,
          details: res ? { status: res.status } : {},
        });
      const wait =
        (res && retryAfterMs(res.headers, this.opts.maxRetryAfterMs ?? 30_000)) ??
        base * 2 ** (attempt - 1) * (0.75 + Math.random() / 2);
      log.warn({ why, attempt, waitMs: Math.round(wait) }, 'PagerDuty call failed; retrying');
      await sleep(wait);
    }
  }

  private errorText(text: string): string {
    try {
      const e = ErrorBody.safeParse(JSON.parse(text));
      if (!e.success) return '';
      const details = e.data.error.errors?.length ? ` (${e.data.error.errors.join('; ')})` : '';
      return `: ${e.data.error.message ?? 'error'}${details}`;
    } catch {
      return '';
    }
  }

  private async send(method: string, url: URL, body: unknown): Promise<Attempt> {
    const timeout = this.opts.timeoutMs ?? 10_000;
    const res = await request(url, {
      method,
      headers: {
        authorization: `Token token=${this.opts.token}`,
        accept: 'application/vnd.pagerduty+json;version=2',
        'content-type': 'application/json',
        ...(this.opts.from ? { from: this.opts.from } : {}),
      },
      body: JSON.stringify(body),
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    // PagerDuty's answers are a few KiB; an endless or huge one is cut, not held in memory.
    const read = await readBounded(res.body, ANSWER_CAP_BYTES);
    if (read.truncated)
      throw new GatewatchError(
        'PAGERDUTY_API',
        `PagerDuty answered more than ${ANSWER_CAP_BYTES / MiB} MiB`,
        {
          retryable: false,
        },
      );
    return { status: res.statusCode, headers: res.headers, text: read.text };
  }
}

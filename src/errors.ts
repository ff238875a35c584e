/**
 * Every error gatewatch raises on purpose carries a code and says whether trying
 * again can help: a remote fault (network, Redis, Slack 5xx) is retryable, a
 * misconfiguration (bad playbook, missing secret) is not.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'PLAYBOOK_INVALID'
  | 'UNKNOWN_SERVICE'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'QUEUE_UNAVAILABLE'
  | 'CHECK_TIMEOUT'
  | 'CHECK_ABORTED'
  | 'CHECK_FAILED'
  | 'SLACK_API'
  | 'PAGERDUTY_API'
  | 'REDIS_UNAVAILABLE';

const RETRYABLE: ReadonlySet<ErrorCode> = new Set([
  'QUEUE_UNAVAILABLE',
  'CHECK_TIMEOUT',
  'SLACK_API',
  'PAGERDUTY_API',
  'REDIS_UNAVAILABLE',
]);

export class GatewatchError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { cause?: unknown; retryable?: boolean; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'GatewatchError';
    this.code = code;
    this.retryable = opts.retryable ?? RETRYABLE.has(code);
    this.details = opts.details;
  }
}

export function isGatewatchError(err: unknown, code?: ErrorCode): err is GatewatchError {
  return err instanceof GatewatchError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

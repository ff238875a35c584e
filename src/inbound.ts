/**
 * An inbound HTTP request as the authenticators see it: its headers and raw body.
 * Webhook sources and Slack's events route both verify signatures over it.
 */
export interface InboundRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

export function header(req: InboundRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

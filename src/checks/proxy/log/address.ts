/**
 * The upstream a proxy names, reduced to what a rule compares against the
 * playbook's targets: `host:port` (`[v6]:port`), a bare group or server name, or
 * `unix:/path`. Scheme and request path are dropped.
 */
export function upstreamAddress(text: string): string | null {
  let s = text.trim();
  if (s === '' || s === '-') return null;
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const unix = /^unix:\/*([^:]*)/i.exec(s);
  if (unix) return `unix:/${unix[1]}`;
  const v6 = /^(\[[0-9a-f:.]+\](?::\d+)?)/i.exec(s);
  if (v6) return v6[1] ?? null;
  const hostPort = /^([^/\s?#]+)/.exec(s);
  return hostPort?.[1] ?? null;
}

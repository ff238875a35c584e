import type { ProxyLogParser } from './log-patterns.js';
import { parseNginxErrorLine } from './nginx.js';

// The controller's access-log line: `… "REQUEST" STATUS … [namespace-service-port] [alt] ADDR…`.
const ACCESS_LINE = /" \d{3} \d+ "[^"]*" "[^"]*" \d+ [\d.]+ \[[^\]]*\]/;
// The controller's own Go log (klog): `E1103 06:09:31.123456 7 controller.go:…]`.
const KLOG = /^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+ /;

/**
 * The ingress-nginx controller's stderr: nginx's error lines (pod-IP upstreams) amid
 * its own klog lines, and, when both streams are shipped together, its access log.
 * Only nginx's error lines say how the upstream failed; an access line's 502 says
 * nothing more and would count the same failure twice.
 */
export function ingressNginxLineParser(parseNginx: ProxyLogParser): ProxyLogParser {
  return (line) => {
    // A CRI prefix (`2024-11-03T06:09:31.905Z stderr F `) when the shipper did not strip it.
    const body = line.replace(/^\S+Z (?:stdout|stderr) [FP] /, '');
    if (KLOG.test(body) || ACCESS_LINE.test(body)) return null;
    return parseNginx(body);
  };
}

/** One controller line, its nginx stamps read in gatewatch's own zone. */
export const parseIngressNginxLine: ProxyLogParser = ingressNginxLineParser(parseNginxErrorLine);

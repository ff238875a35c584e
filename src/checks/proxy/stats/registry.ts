import type { ProxyStatsConfig } from '../../../playbooks/schema.js';
import { readCaddyStats } from './caddy.js';
import { readEnvoyStats } from './envoy.js';
import { readHaproxyStats } from './haproxy.js';
import { readTraefikStats } from './traefik.js';
import type { StatsReader } from './types.js';

/** Every proxy whose stats gatewatch reads, one line each; `proxy.stats.kind` names them. */
export const STATS_READERS: Readonly<Record<ProxyStatsConfig['kind'], StatsReader>> = {
  haproxy: readHaproxyStats,
  caddy: readCaddyStats,
  envoy: readEnvoyStats,
  traefik: readTraefikStats,
};

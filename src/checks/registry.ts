import type { CheckName } from '../playbooks/schema.js';
import { changesCheck } from './changes.js';
import { databaseCheck } from './database.js';
import { loadCheck } from './load.js';
import { proxyCheck } from './proxy.js';
import type { Check } from './types.js';
import { upstreamCheck } from './upstream.js';

/** Every check gatewatch can run, one line each; the playbook's `checks` keys name them. */
export const CHECKS: { readonly [N in CheckName]?: Check<N, unknown> } = {
  proxy: proxyCheck,
  upstream: upstreamCheck,
  load: loadCheck,
  database: databaseCheck,
  changes: changesCheck,
};

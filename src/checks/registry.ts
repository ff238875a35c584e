import type { CheckName } from '../playbooks/schema.js';
import { changesCheck } from './changes/check.js';
import { databaseCheck } from './database/check.js';
import { kubernetesCheck } from './kubernetes/check.js';
import { loadCheck } from './load/check.js';
import { proxyCheck } from './proxy/check.js';
import type { Check } from './types.js';
import { upstreamCheck } from './upstream/check.js';

/** Every check gatewatch can run, one line each; the playbook's `checks` keys name them. */
export const CHECKS: { readonly [N in CheckName]?: Check<N, unknown> } = {
  proxy: proxyCheck,
  upstream: upstreamCheck,
  load: loadCheck,
  database: databaseCheck,
  changes: changesCheck,
  kubernetes: kubernetesCheck,
};

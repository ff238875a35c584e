import type { ProxyErrorLogConfig } from '../../../../playbooks/schema.js';
import { readElasticsearchSource } from './elasticsearch.js';
import { readFileSource } from './file.js';
import { readLokiSource } from './loki.js';
import type { LogSource } from './types.js';

/** Where an error log can be read from, one line each; `error_log.source` names them. */
export const LOG_SOURCES: Readonly<Record<NonNullable<ProxyErrorLogConfig['source']>, LogSource>> = {
  file: readFileSource,
  loki: readLokiSource,
  elasticsearch: readElasticsearchSource,
};

import type { Connection, RowDataPacket } from 'mysql2/promise';
import {
  clip,
  type DbDriver,
  type DbOutcome,
  type DbSession,
  type LockWait,
  type LongQuery,
  networkOutcome,
  usage,
} from './types.js';

const AUTH_ERRNOS = new Set([1044, 1045, 1130, 1698]);
/** 1040 ER_CON_COUNT_ERROR (server full), 1203 ER_TOO_MANY_USER_CONNECTIONS (account limit). */
const SLOT_ERRNOS = new Set([1040, 1203]);
/** 1129 host blocked after too many connection errors, 1927 connection killed: the server turns us away. */
const REFUSED_ERRNOS = new Set([1129, 1927]);

const IDLE_COMMANDS = `('Sleep','Daemon','Binlog Dump','Binlog Dump GTID','Slave_IO','Slave_SQL','Slave_worker')`;

const LONG_QUERIES_SQL = `
SELECT ID AS id, USER AS user, COMMAND AS command, TIME AS seconds, STATE AS state, LEFT(INFO, 400) AS query
FROM information_schema.PROCESSLIST
WHERE COMMAND NOT IN ${IDLE_COMMANDS} AND ID <> CONNECTION_ID() AND USER <> 'system user' AND TIME >= ?
ORDER BY TIME DESC
LIMIT 20`;

/**
 * InnoDB row-lock waits with their blockers (sys schema: MySQL 5.7+, MariaDB 10.6+). Both views read
 * InnoDB's INNODB_TRX cache, refreshed only after 100 ms without readers, so a wait may show a moment late.
 */
const ROW_LOCK_WAITS_SQL = `
SELECT waiting_pid AS id, wait_age_secs AS seconds, blocking_pid AS blocker,
       CONCAT(locked_type, ' ', waiting_lock_mode, ' on ', locked_table) AS lock_desc, LEFT(waiting_query, 400) AS query
FROM sys.innodb_lock_waits
LIMIT 50`;

/** Without the sys schema: waiting transactions, blockers unknown. */
const TRX_LOCK_WAITS_SQL = `
SELECT trx_mysql_thread_id AS id, TIMESTAMPDIFF(SECOND, trx_wait_started, NOW()) AS seconds,
       NULL AS blocker, 'RECORD' AS lock_desc, LEFT(trx_query, 400) AS query
FROM information_schema.INNODB_TRX
WHERE trx_state = 'LOCK WAIT'
LIMIT 50`;

/** Metadata locks (DDL behind a long transaction, or the reverse) show only as a processlist state. */
const METADATA_WAITS_SQL = `
SELECT ID AS id, TIME AS seconds, STATE AS state, LEFT(INFO, 400) AS query
FROM information_schema.PROCESSLIST
WHERE STATE LIKE 'Waiting for%lock' AND ID <> CONNECTION_ID()
LIMIT 20`;

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

class MysqlSession implements DbSession {
  constructor(
    private readonly conn: Connection,
    private readonly timeout: number,
  ) {}

  private async rows(sql: string, values: unknown[] = []): Promise<RowDataPacket[]> {
    const [rows] = await this.conn.query<RowDataPacket[]>({ sql, values, timeout: this.timeout });
    return rows;
  }

  async ping() {
    await this.rows('SELECT 1');
  }

  async connections() {
    const status = await this.rows(
      `SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Threads_running')`,
    );
    const value = (name: string) => num(status.find((r) => r.Variable_name === name)?.Value);
    const [limits] = await this.rows('SELECT @@max_connections AS max');
    const connected = value('Threads_connected');
    const running = value('Threads_running');
    if (!Number.isFinite(connected) || !limits) return null;
    // MySQL keeps one extra slot for SUPER/CONNECTION_ADMIN beyond max_connections: ordinary clients get all of max.
    return usage(connected, num(limits.max), 0, {
      running: Number.isFinite(running) ? running : 0,
      sleeping: Number.isFinite(running) ? connected - running : connected,
    });
  }

  async longQueries(minSeconds: number): Promise<LongQuery[]> {
    const rows = await this.rows(LONG_QUERIES_SQL, [minSeconds]);
    return rows.map((r) => ({
      id: num(r.id),
      seconds: num(r.seconds),
      user: r.user ?? null,
      state: r.command ?? null,
      wait: typeof r.state === 'string' && /lock/i.test(r.state) ? r.state : null,
      query: clip(r.query),
    }));
  }

  async lockWaits(): Promise<LockWait[]> {
    let rowWaits: RowDataPacket[];
    try {
      rowWaits = await this.rows(ROW_LOCK_WAITS_SQL);
    } catch {
      rowWaits = await this.rows(TRX_LOCK_WAITS_SQL);
    }
    const byId = new Map<number, LockWait>();
    for (const r of rowWaits) {
      const id = num(r.id);
      const wait: LockWait = byId.get(id) ?? {
        id,
        seconds: r.seconds === null ? null : num(r.seconds),
        blocked_by: [],
        lock: r.lock_desc ?? null,
        query: clip(r.query),
      };
      if (r.blocker !== null && r.blocker !== undefined && !wait.blocked_by.includes(num(r.blocker)))
        wait.blocked_by.push(num(r.blocker));
      byId.set(id, wait);
    }
    for (const r of await this.rows(METADATA_WAITS_SQL)) {
      const id = num(r.id);
      if (!byId.has(id))
        byId.set(id, {
          id,
          seconds: num(r.seconds),
          blocked_by: [],
          lock: r.state ?? 'metadata lock',
          query: clip(r.query),
        });
    }
    return [...byId.values()];
  }

  async close() {
    await this.conn.end().catch(() => this.conn.destroy());
  }

  destroy() {
    this.conn.destroy();
  }
}

export const mysqlDriver: DbDriver = {
  async open(dsn, { queryTimeoutMs, signal }) {
    // Loaded on first use: a worker whose playbooks check no MySQL never carries the driver (~10 MB).
    const { default: mysql } = await import('mysql2');
    return new Promise<DbSession>((resolve, reject) => {
      if (signal.aborted) return reject(new Error('aborted before connecting'));
      // The driver's own connect timeout stays above the caller's deadline, which is the one that counts.
      const core = mysql.createConnection({ uri: dsn, connectTimeout: 120_000, multipleStatements: false });
      let settled = false;
      const finish = (err: unknown | null) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        core.removeListener('connect', onConnect);
        if (err) {
          core.destroy();
          reject(err);
        } else resolve(new MysqlSession(core.promise(), queryTimeoutMs));
      };
      const onAbort = () => finish(new Error('aborted while connecting'));
      const onConnect = () => finish(null);
      signal.addEventListener('abort', onAbort, { once: true });
      core.once('connect', onConnect);
      // Later errors (a socket dropped mid-query) reject that query; the listener keeps them from crashing the process.
      core.on('error', (err) => finish(err));
    });
  },

  classify(err): DbOutcome {
    const errno = (err as { errno?: unknown }).errno;
    if (typeof errno === 'number') {
      if (AUTH_ERRNOS.has(errno)) return 'auth';
      if (SLOT_ERRNOS.has(errno)) return 'too_many_connections';
      if (REFUSED_ERRNOS.has(errno)) return 'refused';
    }
    return networkOutcome(err);
  },
};

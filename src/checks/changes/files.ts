import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Cluster, Redis } from 'ioredis';

const DAY = 24 * 3600;
/** Long enough to span quiet months between incidents. */
const MEMORY_SECONDS = 180 * DAY;

export interface FileChange {
  path: string;
  hash: string;
  previousHash: string | null;
  mtimeMs: number;
  /** When the change happened, as well as we know. */
  at: number;
  /** `mtime`: the modification time says so; `content`: the hash differs from the one last seen. */
  how: 'mtime' | 'content';
}

function sha256File(path: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { signal })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * What is remembered of a watched file between runs: its current hash, when it
 * was first seen with that hash, and when the previous hash was last seen. The
 * change lies between those two moments, which lets a re-run report it again.
 */
interface Memory {
  hash: string;
  first_seen: number;
  last_seen: number;
  changed_after: number | null;
  previous_hash: string | null;
}

function readMemory(raw: Record<string, string>): Memory | null {
  if (!raw.hash) return null;
  return {
    hash: raw.hash,
    first_seen: Number(raw.first_seen) || 0,
    last_seen: Number(raw.last_seen) || 0,
    changed_after: raw.changed_after ? Number(raw.changed_after) : null,
    previous_hash: raw.previous_hash || null,
  };
}

export function fileMemoryKey(prefix: string, service: string, path: string): string {
  return `${prefix}:changes:file:${service}:${createHash('sha256').update(path).digest('hex').slice(0, 32)}`;
}

/**
 * Looks at one watched file: changed in [sinceMs, untilMs] by its modification
 * time, or (with Redis) by a content hash that differs from the one seen before —
 * which catches copies that keep the old mtime (`cp -p`, rsync -a, config management).
 */
export async function inspectFile(args: {
  path: string;
  sinceMs: number;
  untilMs: number;
  nowMs: number;
  signal: AbortSignal;
  memory?: { redis: Redis | Cluster; key: string };
}): Promise<FileChange | null> {
  const info = await stat(args.path);
  const hash = await sha256File(args.path, args.signal);
  const { memory } = args;
  let before: Memory | null = null;
  let now: Memory = {
    hash,
    first_seen: args.nowMs,
    last_seen: args.nowMs,
    changed_after: null,
    previous_hash: null,
  };
  if (memory) {
    before = readMemory(await memory.redis.hgetall(memory.key));
    if (before && before.hash === hash) now = { ...before, last_seen: args.nowMs };
    else if (before) now = { ...now, changed_after: before.last_seen, previous_hash: before.hash };
    await memory.redis.hset(memory.key, {
      hash: now.hash,
      first_seen: String(now.first_seen),
      last_seen: String(now.last_seen),
      changed_after: now.changed_after === null ? '' : String(now.changed_after),
      previous_hash: now.previous_hash ?? '',
    });
    await memory.redis.expire(memory.key, MEMORY_SECONDS);
  }
  const mtime = info.mtimeMs;
  if (mtime >= args.sinceMs && mtime <= args.untilMs)
    return {
      path: args.path,
      hash,
      previousHash: now.previous_hash,
      mtimeMs: mtime,
      at: mtime,
      how: 'mtime',
    };
  // The content changed somewhere in (changed_after, first_seen]: report it when that span meets the window.
  if (now.changed_after !== null && now.changed_after <= args.untilMs && now.first_seen >= args.sinceMs)
    return {
      path: args.path,
      hash,
      previousHash: now.previous_hash,
      mtimeMs: mtime,
      at: Math.min(now.first_seen, args.untilMs),
      how: 'content',
    };
  return null;
}

import { errorMessage } from '../../errors.js';
import type { ChangesCheckConfig } from '../../playbooks/schema.js';
import type { ChangeEvent, Check, CheckContext, CheckOutput, CheckStatus } from '../types.js';
import { fileMemoryKey, inspectFile } from './files.js';
import { type GitCommit, gitError, gitLog, isProxyConfig } from './git.js';

/**
 * One change that fell in the window before the onset, whatever noticed it.
 * Uniform on purpose: the verdict engine picks its trigger from these without
 * caring whether git, a watched file or a posted event reported it.
 */
export interface ChangeEvidence {
  kind: 'deploy' | 'config';
  ref: string;
  summary: string;
  author: string | null;
  /** ISO-8601. */
  at: string;
  minutes_before_onset: number;
  paths?: string[];
  /** git only: the size of the change. */
  stat?: { files: number; insertions: number; deletions: number };
  /** `kubernetes`: a Deployment rollout the kubernetes check saw (src/verdict/kubernetes.ts). */
  source: 'git' | 'file' | 'event' | 'kubernetes';
}

type Found = Omit<ChangeEvidence, 'minutes_before_onset'>;

interface Gathered {
  found: Found[];
  /** What was looked at, for the summary ("git 2 paths, 1 file, deploy events"). */
  looked: string[];
  problems: string[];
  /** Worth saying, but not a failure (no Redis for deploy events under `gatewatch check`). */
  notes: string[];
}

function fromCommit(c: GitCommit): Found {
  return {
    kind: c.files.some(isProxyConfig) ? 'config' : 'deploy',
    ref: c.sha.slice(0, 12),
    summary: c.subject,
    author: c.author || null,
    at: c.at,
    paths: c.files,
    stat: { files: c.files.length, insertions: c.insertions, deletions: c.deletions },
    source: 'git',
  };
}

function fromEvent(e: ChangeEvent): Found {
  return {
    kind: e.kind,
    ref: e.ref,
    summary: e.summary,
    author: e.author ?? null,
    at: e.at,
    source: 'event',
  };
}

async function gatherGit(
  git: NonNullable<ChangesCheckConfig['git']>,
  window: { sinceMs: number; untilMs: number },
  ctx: CheckContext,
  out: Gathered,
): Promise<void> {
  out.looked.push(git.paths.length ? `git ${git.paths.join(', ')}` : 'git');
  try {
    const commits = await gitLog({
      repo: git.repo,
      paths: git.paths,
      ...window,
      signal: ctx.signal,
      timeoutMs: ctx.timeoutMs,
    });
    out.found.push(...commits.map(fromCommit));
  } catch (err) {
    out.problems.push(`git log in ${git.repo} failed: ${gitError(err)}`);
  }
}

async function gatherFiles(
  files: readonly string[],
  window: { sinceMs: number; untilMs: number },
  ctx: CheckContext,
  out: Gathered,
): Promise<void> {
  out.looked.push(files.length === 1 ? '1 file' : `${files.length} files`);
  const { redis, keyPrefix } = ctx;
  await Promise.all(
    files.map(async (path) => {
      try {
        const change = await inspectFile({
          path,
          ...window,
          nowMs: ctx.now(),
          signal: ctx.signal,
          memory:
            redis && keyPrefix ? { redis, key: fileMemoryKey(keyPrefix, ctx.service, path) } : undefined,
        });
        if (!change) return;
        const was = change.previousHash ? ` (was sha256:${change.previousHash.slice(0, 12)})` : '';
        out.found.push({
          kind: 'config',
          ref: `sha256:${change.hash.slice(0, 12)}`,
          summary:
            change.how === 'mtime'
              ? `${path} modified${was}`
              : `${path} content changed${was}; its modification time does not show it`,
          author: null,
          at: new Date(change.at).toISOString(),
          paths: [path],
          source: 'file',
        });
      } catch (err) {
        out.problems.push(`${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
      }
    }),
  );
}

async function gatherEvents(
  window: { sinceMs: number; untilMs: number },
  ctx: CheckContext,
  out: Gathered,
): Promise<void> {
  if (!ctx.changeEvents) {
    out.notes.push('deploy events are not available here (they need Redis)');
    return;
  }
  out.looked.push('deploy events');
  try {
    const events = await ctx.changeEvents.recent(ctx.service, window.sinceMs, window.untilMs);
    out.found.push(...events.map(fromEvent));
  } catch (err) {
    out.problems.push(`deploy events could not be read: ${errorMessage(err)}`);
  }
}

function describe(c: ChangeEvidence): string {
  const who = c.author ? ` by ${c.author}` : '';
  return `${c.kind} ${c.ref} "${c.summary}"${who}, ${c.minutes_before_onset} min before onset`;
}

export const changesCheck: Check<'changes', ChangeEvidence> = {
  name: 'changes',
  async run(config, ctx): Promise<CheckOutput<ChangeEvidence>> {
    const untilMs = ctx.onsetAt;
    const window = { sinceMs: untilMs - config.window_minutes * 60_000, untilMs };
    const out: Gathered = { found: [], looked: [], problems: [], notes: [] };
    const work: Promise<void>[] = [];
    if (config.git) work.push(gatherGit(config.git, window, ctx, out));
    if (config.files?.length) work.push(gatherFiles(config.files, window, ctx, out));
    if (config.deploys) work.push(gatherEvents(window, ctx, out));
    if (work.length === 0)
      return { status: 'skipped', summary: 'nothing to look at: set git, files or deploys', evidence: [] };
    await Promise.all(work);

    const evidence: ChangeEvidence[] = out.found
      .map((f) => ({ ...f, minutes_before_onset: Math.round((untilMs - Date.parse(f.at)) / 6000) / 10 }))
      // Newest first: the change closest to the onset is the likeliest trigger.
      .sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
    if (out.problems.length)
      ctx.log.info({ problems: out.problems }, 'some change sources could not be read');
    const status: CheckStatus = evidence.length > 0 ? 'warn' : out.problems.length > 0 ? 'error' : 'ok';
    const within = `in the ${config.window_minutes} min before onset`;
    const head =
      evidence.length === 0
        ? `no changes ${within} (${out.looked.join('; ') || 'no source readable'})`
        : `${evidence.length} change${evidence.length === 1 ? '' : 's'} ${within}: ${evidence
            .slice(0, 3)
            .map(describe)
            .join('; ')}${evidence.length > 3 ? '; …' : ''}`;
    const summary = [head, ...out.problems, ...out.notes].join('; ');
    return { status, summary, evidence };
  },
};

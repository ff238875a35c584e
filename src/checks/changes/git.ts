import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GitCommit {
  sha: string;
  author: string;
  /** Committer time, ISO-8601: when the change landed, which is what a deploy follows. */
  at: string;
  subject: string;
  files: string[];
  insertions: number;
  deletions: number;
}

const RECORD = '\x1e';
const FIELD = '\x1f';
const MAX_COMMITS = 100;

/** Proxy configuration: a commit touching it is a config change, whatever else it touches. */
const PROXY_CONFIG = /(^|\/)(nginx|haproxy|envoy|traefik|caddy)([^/]*)(\/|$)|\.conf$|(^|\/)haproxy\.cfg$/i;

export function isProxyConfig(path: string): boolean {
  return PROXY_CONFIG.test(path);
}

/** git quotes paths with unusual characters ("a\tb"); the evidence wants them readable, not exact. */
function unquote(path: string): string {
  return path.startsWith('"') && path.endsWith('"') ? path.slice(1, -1) : path;
}

function parseLog(stdout: string): GitCommit[] {
  const commits: GitCommit[] = [];
  for (const record of stdout.split(RECORD)) {
    if (!record.trim()) continue;
    const [header = '', ...stat] = record.split('\n');
    const [sha, author, at, subject] = header.split(FIELD);
    if (!sha || !at) continue;
    const commit: GitCommit = {
      sha,
      author: author ?? '',
      at: new Date(at).toISOString(),
      subject: subject ?? '',
      files: [],
      insertions: 0,
      deletions: 0,
    };
    for (const line of stat) {
      const m = /^(\d+|-)\t(\d+|-)\t(.+)$/.exec(line);
      if (!m) continue;
      // Binary files show "-": they count as files, not lines.
      commit.insertions += m[1] === '-' ? 0 : Number(m[1]);
      commit.deletions += m[2] === '-' ? 0 : Number(m[2]);
      commit.files.push(unquote(m[3]!));
    }
    commits.push(commit);
  }
  return commits;
}

/**
 * Commits touching `paths` (all of the repository when empty) whose committer
 * time lies in [sinceMs, untilMs], newest first. Runs git without a shell.
 */
export async function gitLog(args: {
  repo: string;
  paths: readonly string[];
  sinceMs: number;
  untilMs: number;
  signal: AbortSignal;
  timeoutMs: number;
}): Promise<GitCommit[]> {
  const since = Math.floor(args.sinceMs / 1000);
  const until = Math.ceil(args.untilMs / 1000);
  const { stdout } = await run(
    'git',
    [
      '-C',
      args.repo,
      '-c',
      'core.quotepath=off',
      'log',
      '--no-color',
      '--no-renames',
      '--no-show-signature',
      `--max-count=${MAX_COMMITS}`,
      `--since=@${since}`,
      `--until=@${until}`,
      `--format=${RECORD}%H${FIELD}%an${FIELD}%cI${FIELD}%s`,
      '--numstat',
      '--',
      ...args.paths,
    ],
    {
      signal: args.signal,
      timeout: args.timeoutMs,
      maxBuffer: 8 * 1024 * 1024,
      encoding: 'utf8',
      // Never prompt, never take a lock: a diagnosis only reads.
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' },
    },
  );
  // git's --since is a traversal cut-off, not an exact filter: check each commit's own time.
  return parseLog(stdout).filter((c) => {
    const t = Date.parse(c.at);
    return t >= args.sinceMs && t <= args.untilMs;
  });
}

/** What git said went wrong, without the usage text it sometimes appends. */
export function gitError(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  const text = typeof stderr === 'string' && stderr.trim() ? stderr : (err as Error).message;
  return text.trim().split('\n')[0] ?? 'git failed';
}

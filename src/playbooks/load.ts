import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { GatewatchError } from '../errors.js';
import { type Playbook, PlaybookSchema } from './schema.js';

export interface PlaybookProblem {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

export type PlaybookSet = ReadonlyMap<string, Playbook>;

function nodeAt(doc: ReturnType<typeof parseDocument>, path: readonly PropertyKey[]): Node | undefined {
  // Walk down as far as the path exists, so a missing field points at its parent.
  let node: unknown = doc.contents;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      // The last step points at the key itself: that is the line a person reads as "the field".
      node = i === path.length - 1 || !pair.value ? pair.key : pair.value;
      if (!pair.value) break;
    } else if (isSeq(node) && typeof key === 'number' && node.items[key]) {
      node = node.items[key];
    } else break;
  }
  return node as Node | undefined;
}

function unknownKeyPath(path: readonly PropertyKey[], keys: readonly string[] | undefined): PropertyKey[] {
  return keys?.[0] ? [...path, keys[0]] : [...path];
}

/** Parses one playbook's text; returns the playbook or every problem with its line. */
export function parsePlaybook(
  text: string,
  file: string,
): { playbook?: Playbook; problems: PlaybookProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => lineCounter.linePos(offset ?? 0);
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const pos = at(e.pos[0]);
        return {
          file,
          line: pos.line,
          column: pos.col,
          field: '(yaml)',
          message: e.message.split('\n')[0] ?? '',
        };
      }),
    };
  }
  let js: unknown;
  try {
    js = doc.toJS();
  } catch (err) {
    // An alias without an anchor parses but cannot be resolved: a YAML error like any other.
    return { problems: [{ file, line: 1, column: 1, field: '(yaml)', message: (err as Error).message }] };
  }
  const parsed = PlaybookSchema.safeParse(js);
  if (parsed.success) return { playbook: parsed.data, problems: [] };
  return {
    problems: parsed.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
      const path = unknownKeyPath(issue.path, keys);
      const node = nodeAt(doc, path);
      const pos = at(node?.range?.[0]);
      const message = keys ? `unknown field "${keys.join('", "')}"` : issue.message;
      return {
        file,
        line: pos.line,
        column: pos.col,
        field: path.map(String).join('.') || '(root)',
        message,
      };
    }),
  };
}

export function formatProblems(problems: readonly PlaybookProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.field}: ${p.message}`).join('\n');
}

/** Reads every `*.yaml`/`*.yml` in a directory; any problem in any file is an error naming file and line. */
export async function loadPlaybooks(dir: string): Promise<PlaybookSet> {
  const { playbooks, problems } = await validatePlaybooks(dir);
  if (problems.length > 0) {
    throw new GatewatchError('PLAYBOOK_INVALID', `invalid playbooks:\n${formatProblems(problems)}`, {
      details: { problems },
    });
  }
  return playbooks;
}

export async function validatePlaybooks(
  dir: string,
): Promise<{ playbooks: PlaybookSet; problems: PlaybookProblem[] }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (err) {
    throw new GatewatchError(
      'PLAYBOOK_INVALID',
      `cannot read playbooks directory ${dir}: ${(err as Error).message}`,
    );
  }
  const playbooks = new Map<string, Playbook>();
  const problems: PlaybookProblem[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const result = parsePlaybook(await readFile(file, 'utf8'), file);
    problems.push(...result.problems);
    if (!result.playbook) continue;
    if (playbooks.has(result.playbook.service)) {
      problems.push({
        file,
        line: 1,
        column: 1,
        field: 'service',
        message: `service "${result.playbook.service}" is defined twice`,
      });
      continue;
    }
    playbooks.set(result.playbook.service, result.playbook);
  }
  return { playbooks, problems };
}

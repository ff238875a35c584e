import { RE2JS } from 're2js';

/**
 * Playbook `match.title` patterns run with RE2 semantics (no backreferences, no
 * lookaround): matching time grows linearly with the title, never exponentially.
 * Linear is not cheap when a pattern compiles to a huge program (`(.*a){1000}`
 * has 5000 instructions, each stepped per character), so programs are capped too.
 */
export const MAX_PATTERN_CHARS = 512;
export const MAX_PATTERN_INSTRUCTIONS = 600;

export function compileTitlePattern(pattern: string): RE2JS {
  return RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
}

/** Compiled title rules, by pattern: a pure function of its key, kept because compiling costs ~150 µs per webhook. */
const compiled = new Map<string, RE2JS>();
/** Patterns come from the loaded playbooks; the bound only guards against a process that reloads forever. */
const MAX_COMPILED = 1000;

/** The compiled pattern of a (validated) title rule, compiled once. */
export function titleMatcher(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (!re) {
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    re = compileTitlePattern(pattern);
    compiled.set(pattern, re);
  }
  return re;
}

/** Why a pattern cannot be a title rule, or null when it can. */
export function titlePatternProblem(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN_CHARS) return `pattern over ${MAX_PATTERN_CHARS} characters`;
  let compiled: RE2JS;
  try {
    compiled = compileTitlePattern(pattern);
  } catch (err) {
    return `not a regular expression RE2 can run (no backreferences or lookaround): ${(err as Error).message}`;
  }
  // `prog.inst` is the compiled program; its size times the title's length bounds the work.
  const size = (compiled.re2().prog as { inst?: unknown[] } | undefined)?.inst?.length ?? 0;
  if (size > MAX_PATTERN_INSTRUCTIONS)
    return `pattern too complex (${size} instructions, at most ${MAX_PATTERN_INSTRUCTIONS}): lower its repeat counts`;
  return null;
}

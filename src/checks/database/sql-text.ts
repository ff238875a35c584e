/**
 * Statements from pg_stat_activity or the MySQL processlist carry their literals:
 * emails, card numbers, tokens in an UPDATE. Evidence goes to Slack, PagerDuty and
 * logs, so every literal becomes `?` here, where the statement is read, and comments
 * (which may quote anything) are dropped. Identifiers, keywords and `$1` parameters stay.
 * Statements arrive cut to a length, so a literal left open at the end is a literal too.
 */
export type SqlDialect = 'postgres' | 'mysql';

const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;
/** Prefixes that turn the quote after them into a literal: E'..', N'..', X'..', B'..', U&'..'. */
const STRING_PREFIX = /^(?:[EeNnXxBb]|[Uu]&)$/;

/** Index just past the quote that closes the literal opened at `start`, or the end of the text. */
function endOfQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') i += 2;
    else if (c === quote && sql[i + 1] === quote) i += 2;
    else if (c === quote) return i + 1;
    else i += 1;
  }
  return sql.length;
}

/** A number starts here when it is not the tail of a word: `t1` stays, `= 1` does not. */
function numberEnd(sql: string, start: number): number {
  const hex = /^0[xX][0-9A-Fa-f]+/.exec(sql.slice(start, start + 64));
  if (hex) return start + hex[0].length;
  const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(sql.slice(start, start + 512));
  return start + (m?.[0].length ?? 1);
}

export function normaliseSql(sql: string | null, dialect: SqlDialect): string | null {
  if (sql === null) return null;
  const out: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    const prevIsWord = i > 0 && WORD.test(sql[i - 1] as string);
    if ((c === '-' && next === '-') || (c === '#' && dialect === 'mysql')) {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? sql.length : eol;
      out.push(' ');
    } else if (c === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close === -1 ? sql.length : close + 2;
      out.push(' ');
    } else if (c === "'") {
      const escaped = dialect === 'mysql' || /^[Ee]$/.test(out[out.length - 1] ?? '');
      if (STRING_PREFIX.test(out[out.length - 1] ?? '')) out.pop();
      i = endOfQuoted(sql, i, "'", escaped);
      out.push('?');
    } else if (c === '"' && dialect === 'mysql') {
      i = endOfQuoted(sql, i, '"', true);
      out.push('?');
    } else if (c === '"' || c === '`') {
      const end = endOfQuoted(sql, i, c, false);
      out.push(sql.slice(i, end));
      i = end;
    } else if (c === '$' && dialect === 'postgres' && !prevIsWord && /[A-Za-z_$]/.test(next ?? '')) {
      // A dollar-quoted string: $$…$$ or $tag$…$tag$.
      const tag = /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.exec(sql.slice(i, i + 64))?.[0];
      if (!tag) {
        out.push(c);
        i += 1;
        continue;
      }
      const close = sql.indexOf(tag, i + tag.length);
      i = close === -1 ? sql.length : close + tag.length;
      out.push('?');
    } else if (!prevIsWord && (/\d/.test(c) || (c === '.' && /\d/.test(next ?? '')))) {
      i = numberEnd(sql, i);
      out.push('?');
    } else if (WORD.test(c)) {
      let end = i + 1;
      while (end < sql.length && WORD.test(sql[end] as string)) end += 1;
      // U& is a prefix too: keep the & with its U so the quote after it sees both.
      if (/^[Uu]$/.test(sql.slice(i, end)) && sql[end] === '&' && sql[end + 1] === "'") end += 1;
      out.push(sql.slice(i, end));
      i = end;
    } else if (/\s/.test(c)) {
      out.push(' ');
      i += 1;
    } else {
      out.push(c);
      i += 1;
    }
  }
  return out.join('').replace(/\s+/g, ' ').trim();
}

import type { IncomingMessage } from 'node:http';
import { GatewatchError } from '../errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;

/** Reads a request body up to a limit; past it, stops reading and fails with 413. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(
      new GatewatchError('PAYLOAD_TOO_LARGE', `body of ${declared} bytes is over the ${limit}-byte limit`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new GatewatchError('PAYLOAD_TOO_LARGE', `body is over the ${limit}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Where JSON text first goes wrong, for the messages V8 gives without a
 * position ("Unexpected token 'x', … is not valid JSON"). A plain scan, not a
 * parser: it only has to agree with JSON.parse on where the text stops being JSON.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const str = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-f]/i.test(text[i + k] ?? '')) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (text[i] !== '"') fail();
    i++;
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += m![0].length;
  };
  // An explicit stack rather than recursion: a megabyte of "[" must not overflow ours.
  const stack: string[] = [];
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      stack.push(c === '{' ? '}' : ']');
      i++;
      ws();
      if (text[i] === stack.at(-1)) {
        i++;
        stack.pop();
        return false;
      }
      if (c === '{') key();
      return true;
    }
    if (c === '"') str();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) num();
    else fail();
    return false;
  };
  const key = () => {
    ws();
    if (text[i] !== '"') fail();
    str();
    ws();
    if (text[i] !== ':') fail();
    i++;
  };
  try {
    let opened = value();
    for (;;) {
      if (!opened) {
        ws();
        const close = stack.at(-1);
        if (close === undefined) break;
        if (text[i] === ',') {
          i++;
          if (close === '}') key();
        } else if (text[i] === close) {
          i++;
          stack.pop();
          continue;
        } else fail();
      }
      opened = value();
    }
    ws();
    return i < text.length ? i : -1;
  } catch (at) {
    return typeof at === 'number' ? at : -1;
  }
}

/** JSON.parse with an error that says where the body went wrong: line, column and offset. */
export function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw new GatewatchError('BAD_REQUEST', 'empty body: expected JSON');
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const given = /position (\d+)/.exec(msg)?.[1];
    const pos = given !== undefined ? Number(given) : jsonErrorOffset(text);
    if (pos < 0) throw new GatewatchError('BAD_REQUEST', `malformed JSON: ${msg}`);
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    // V8 quotes the start of the body in its message; the position says enough.
    const reason = msg
      .replace(/, (\.\.\.)?".*" is not valid JSON$/s, '')
      .replace(/ in JSON at position.*$/s, '');
    throw new GatewatchError(
      'BAD_REQUEST',
      `malformed JSON at line ${line}, column ${column} (offset ${pos}): ${reason}`,
    );
  }
}

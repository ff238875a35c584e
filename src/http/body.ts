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

/** JSON.parse with an error that says where the body went wrong. */
export function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw new GatewatchError('BAD_REQUEST', 'empty body: expected JSON');
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg)?.[1];
    const where =
      pos === undefined ? '' : ` (line ${text.slice(0, Number(pos)).split('\n').length}, position ${pos})`;
    throw new GatewatchError('BAD_REQUEST', `malformed JSON${where}: ${msg}`);
  }
}

import type { Dispatcher } from 'undici';

/** What was read of a response body, and whether the rest was refused. */
export interface BoundedBody {
  text: string;
  bytes: number;
  /** The body went on past the cap: `text` is its first `bytes` only, and the connection was dropped. */
  truncated: boolean;
}

export const MiB = 1024 * 1024;

/** "4 MiB", "64 KiB": a cap as a person reads it, for evidence that says a body was cut. */
export function sizeText(bytes: number): string {
  return bytes >= MiB && bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

/**
 * Reads a response body up to `maxBytes`. Past the cap the body is destroyed rather
 * than drained, so an endless or huge answer costs at most the cap in memory and time.
 */
export async function readBounded(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
): Promise<BoundedBody> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let truncated = false;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = maxBytes - bytes;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      bytes += room;
      truncated = true;
      break;
    }
    chunks.push(chunk);
    bytes += chunk.length;
  }
  // Leaving the loop early destroys the stream; say so explicitly for readers of this code.
  if (truncated) body.destroy();
  return { text: Buffer.concat(chunks, bytes).toString('utf8'), bytes, truncated };
}

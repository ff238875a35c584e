import { open } from 'node:fs/promises';

export interface Tail {
  text: string;
  /** Bytes actually read: never more than the bound. */
  bytes_read: number;
  file_size: number;
  /** True when the file is larger than the bound, so older lines were not read. */
  truncated: boolean;
}

/**
 * The last `maxBytes` of a file, cut back to whole lines. Error logs grow to
 * gigabytes; only the end is recent, so only the end is read.
 */
export async function readTail(path: string, maxBytes: number): Promise<Tail> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const length = Math.min(size, maxBytes);
    const start = size - length;
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await file.read(buf, got, length - got, start + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    let text = buf.subarray(0, got).toString('utf8');
    // Starting mid-file lands mid-line (maybe mid-character): drop that fragment.
    if (start > 0) {
      const nl = text.indexOf('\n');
      text = nl < 0 ? '' : text.slice(nl + 1);
    }
    return { text, bytes_read: got, file_size: size, truncated: start > 0 };
  } finally {
    await file.close();
  }
}

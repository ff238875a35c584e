import { readTail } from '../tail.js';
import type { LogRead, LogReadRequest } from './types.js';

/** The end of a log file on this host (at most max_bytes); lines carry their own time. */
export async function readFileSource(req: LogReadRequest): Promise<LogRead> {
  const path = req.config.path ?? '';
  const tail = await readTail(path, req.config.max_bytes);
  return {
    location: path,
    lines: tail.text.split('\n').map((text) => ({ text, at: null })),
    bytes_read: tail.bytes_read,
    size: tail.file_size,
    truncated: tail.truncated ? `only the last ${req.config.max_bytes} bytes of the file were read` : null,
    partial: null,
  };
}

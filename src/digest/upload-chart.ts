import type { WebClient } from '@slack/web-api';
import { request } from 'undici';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Digest } from './types.js';

const UPLOAD_TIMEOUT_MS = 10_000;

/**
 * Slack's external upload: ask for a URL, POST the bytes there, then share the file in
 * the digest's thread. The bytes go raw (the URL is pre-signed, so no token travels there).
 */
export async function uploadChart(
  deps: { client: WebClient; log: Logger },
  digest: Digest,
  channel: string,
  ts: string,
): Promise<boolean> {
  try {
    // Loaded on first use: the native canvas costs ~25 MB of RSS a worker should not carry idle.
    const { renderChartPng } = await import('./chart.js');
    const png = renderChartPng(digest);
    const filename = `gatewatch-digest-${digest.week}.png`;
    const target = await deps.client.files.getUploadURLExternal({
      filename,
      length: png.length,
      alt_text: `Bar chart of 502 incidents per day by cause for ${digest.week}`,
    });
    if (!target.upload_url || !target.file_id) throw new Error('no upload_url in the answer');
    const res = await request(target.upload_url, {
      method: 'POST',
      body: png,
      headers: { 'content-type': 'application/octet-stream' },
      headersTimeout: UPLOAD_TIMEOUT_MS,
      bodyTimeout: UPLOAD_TIMEOUT_MS,
    });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`upload answered HTTP ${res.statusCode}`);
    await deps.client.files.completeUploadExternal({
      files: [{ id: target.file_id, title: `502 incidents per day by cause, ${digest.week}` }],
      channel_id: channel,
      thread_ts: ts,
    });
    return true;
  } catch (err) {
    // The message carries every figure; a missing chart is worth a warning, not a second digest.
    deps.log.warn({ err: errorMessage(err) }, 'digest chart upload failed');
    return false;
  }
}

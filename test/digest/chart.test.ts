import { createCanvas, loadImage } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';
import { buildDigest } from '../../src/digest/build.js';
import { CAUSE_COLOURS, CHART_HEIGHT, CHART_WIDTH, renderChartPng } from '../../src/digest/chart.js';
import { incidentOf, TWO_WEEKS } from './seed.js';

const NOW = new Date('2026-03-09T00:30:00Z');

/** Width and height from the PNG's own header, read without any image library. */
function ihdr(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function colours(png: Buffer): Promise<Set<string>> {
  const img = await loadImage(png);
  const canvas = createCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const { data } = ctx.getImageData(0, 0, img.width, img.height);
  const seen = new Set<string>();
  for (let i = 0; i < data.length; i += 4)
    seen.add(`#${[data[i], data[i + 1], data[i + 2]].map((v) => v!.toString(16).padStart(2, '0')).join('')}`);
  return seen;
}

describe('the digest chart', () => {
  const all = TWO_WEEKS.map(incidentOf);
  const digest = buildDigest(all, '2026-W10', all, 'UTC', NOW);

  it('is a PNG of the expected size that decodes', async () => {
    const png = renderChartPng(digest);
    expect(ihdr(png)).toEqual({ width: CHART_WIDTH, height: CHART_HEIGHT });
    const img = await loadImage(png);
    expect([img.width, img.height]).toEqual([800, 400]);
  });

  it('draws a colour for each cause of the week and none for causes it did not have', async () => {
    const seen = await colours(renderChartPng(digest));
    for (const cause of [
      'upstream_down',
      'upstream_saturated',
      'db_saturated',
      'recovered',
      'no_verdict',
    ] as const)
      expect(seen, cause).toContain(CAUSE_COLOURS[cause]);
    for (const cause of ['db_slow', 'upstream_crash', 'upstream_timeout'] as const)
      expect(seen, cause).not.toContain(CAUSE_COLOURS[cause]);
  });

  it('renders an empty week too, and any size asked for', async () => {
    const empty = buildDigest([], '2026-W20', [], 'UTC', NOW);
    const png = renderChartPng(empty, { width: 640, height: 320 });
    expect(ihdr(png)).toEqual({ width: 640, height: 320 });
    const seen = await colours(png);
    for (const colour of Object.values(CAUSE_COLOURS)) expect(seen).not.toContain(colour);
  });
});

import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { Cause } from '../verdict/types.js';
import type { Digest } from './types.js';

export const CHART_WIDTH = 800;
export const CHART_HEIGHT = 400;

/** One colour per cause, none of them grey: greys are the axes' and the text's. */
export const CAUSE_COLOURS: Record<Cause | 'no_verdict', string> = {
  upstream_down: '#d62728',
  upstream_partial: '#ff7f0e',
  proxy_misrouted: '#8c564b',
  dns_failure: '#e377c2',
  upstream_crash: '#bcbd22',
  upstream_timeout: '#9467bd',
  upstream_saturated: '#1f77b4',
  db_unavailable: '#a61c3c',
  db_slow: '#2ca02c',
  db_saturated: '#17becf',
  memory_leak: '#7f3c8d',
  deploy_drain: '#e6ab02',
  recovered: '#98df8a',
  unknown: '#c5b0d5',
  no_verdict: '#dbdb8d',
};

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const FONT = 'DejaVu Sans, sans-serif';
const LEGEND_WIDTH = 190;
const MARGIN = { top: 40, right: 16 + LEGEND_WIDTH, bottom: 36, left: 44 };

type Key = keyof typeof CAUSE_COLOURS;

/** Causes in the order of their first colour-map entry, so the stacks and the legend agree. */
function causesPresent(d: Digest): Key[] {
  const seen = new Set<Key>();
  for (const day of d.days) for (const k of Object.keys(day.byCause) as Key[]) seen.add(k);
  return (Object.keys(CAUSE_COLOURS) as Key[]).filter((k) => seen.has(k));
}

function niceStep(max: number): number {
  for (const step of [1, 2, 5, 10, 20, 50, 100, 200, 500]) if (max / step <= 8) return step;
  return Math.ceil(max / 8);
}

function drawAxes(ctx: SKRSContext2D, plot: { x: number; y: number; w: number; h: number }, max: number) {
  const step = niceStep(max);
  ctx.font = `11px ${FONT}`;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let v = 0; v <= max; v += step) {
    const y = plot.y + plot.h - (v / max) * plot.h;
    ctx.strokeStyle = v === 0 ? '#333333' : '#e6e6e6';
    ctx.beginPath();
    ctx.moveTo(plot.x, y);
    ctx.lineTo(plot.x + plot.w, y);
    ctx.stroke();
    ctx.fillStyle = '#333333';
    ctx.fillText(String(v), plot.x - 6, y);
  }
}

/** Incidents per local day of the week, stacked by cause, with a legend: a PNG of fixed size. */
export function renderChartPng(d: Digest, size = { width: CHART_WIDTH, height: CHART_HEIGHT }): Buffer {
  const canvas = createCanvas(size.width, size.height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, size.width, size.height);

  ctx.fillStyle = '#111111';
  ctx.font = `bold 15px ${FONT}`;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  ctx.fillText(`502 incidents per day by cause, ${d.week} (${d.tz})`, MARGIN.left, 12);

  const plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    w: size.width - MARGIN.left - MARGIN.right,
    h: size.height - MARGIN.top - MARGIN.bottom,
  };
  const totals = d.days.map((day) => Object.values(day.byCause).reduce((a, b) => a + (b ?? 0), 0));
  const max = Math.max(1, ...totals);
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  drawAxes(ctx, plot, top);

  const causes = causesPresent(d);
  const slot = plot.w / d.days.length;
  const barWidth = slot * 0.6;
  ctx.font = `11px ${FONT}`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  d.days.forEach((day, i) => {
    const x = plot.x + i * slot + (slot - barWidth) / 2;
    let y = plot.y + plot.h;
    for (const cause of causes) {
      const n = day.byCause[cause] ?? 0;
      if (n === 0) continue;
      const h = (n / top) * plot.h;
      ctx.fillStyle = CAUSE_COLOURS[cause];
      ctx.fillRect(x, y - h, barWidth, h);
      y -= h;
    }
    ctx.fillStyle = '#333333';
    ctx.fillText(
      `${WEEKDAYS[i] ?? ''} ${day.date.slice(8)}`,
      plot.x + i * slot + slot / 2,
      plot.y + plot.h + 8,
    );
  });

  const lx = size.width - LEGEND_WIDTH;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  if (causes.length === 0) {
    ctx.fillStyle = '#333333';
    ctx.fillText('no incidents this week', lx, MARGIN.top + 8);
  }
  causes.forEach((cause, i) => {
    const y = MARGIN.top + 8 + i * 20;
    ctx.fillStyle = CAUSE_COLOURS[cause];
    ctx.fillRect(lx, y - 6, 12, 12);
    ctx.fillStyle = '#333333';
    ctx.fillText(cause.replaceAll('_', ' '), lx + 18, y);
  });

  return canvas.toBuffer('image/png');
}

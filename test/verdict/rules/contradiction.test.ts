import { describe, expect, it } from 'vitest';
import { contradiction } from '../../../src/verdict/rules/contradiction.js';
import { ev, proxy, proxySample, target, upstream } from '../build.js';

describe('contradiction', () => {
  it.each([
    {
      name: 'all targets refuse, proxy serves 200s',
      e: ev(upstream(target(1, 'refused'), target(2, 'refused')), proxy(proxySample({ 200: 5 }))),
      unknown: true,
    },
    {
      name: 'the only target does not resolve, proxy serves 200s',
      e: ev(upstream(target(1, 'dns')), proxy(proxySample({ 200: 5 }))),
      unknown: true,
    },
    {
      name: 'all refuse and the proxy gives 502s: consistent',
      e: ev(upstream(target(1, 'refused')), proxy(proxySample({ 502: 5 }))),
      unknown: false,
    },
    {
      name: 'one of two refuses, proxy serves 200s: partial, not a contradiction',
      e: ev(upstream(target(1, 'refused'), target(2)), proxy(proxySample({ 200: 5 }))),
      unknown: false,
    },
    { name: 'all refuse, no proxy sample', e: ev(upstream(target(1, 'refused'))), unknown: false },
    {
      name: 'all refuse, proxy itself answers nothing',
      e: ev(upstream(target(1, 'refused')), proxy(proxySample({}, { refused: 5 }))),
      unknown: false,
    },
  ])('$name', ({ e, unknown }) => {
    const f = contradiction(e);
    if (unknown) {
      expect(f?.cause).toBe('unknown');
      expect(f!.confidence).toBeLessThan(0.5);
      expect(f!.summary).toContain('127.0.0.1:1');
    } else expect(f).toBeNull();
  });
});

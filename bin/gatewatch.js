#!/usr/bin/env node
// Runs the compiled CLI when the package is built (npm run build, the Docker image);
// from a source checkout it runs the TypeScript directly through tsx.
import { existsSync } from 'node:fs';

const src = new URL('../src/bin/gatewatch.ts', import.meta.url);
const dist = new URL('../dist/bin/gatewatch.js', import.meta.url);
if (existsSync(src)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(src.href);
} else {
  await import(dist.href);
}

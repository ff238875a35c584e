#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// WebAssembly stays in V8's baseline compiler. undici (the checks' HTTP client, and Node's own fetch)
// parses HTTP with llhttp compiled to WebAssembly; its optimising re-compile on the first requests
// costs ~35 MB of RSS for a moment, which was a worker's peak in a storm. Parsing a probe's answer in
// baseline code is fast enough. Set before anything compiles WebAssembly, so the program is loaded after.
setFlagsFromString('--liftoff-only');

const { runCli } = await import('../cli/program.js');
const code = await runCli(process.argv);
process.exitCode = code;
// Long-running commands keep their own handles open; one-shot commands end here.
if (!['start', 'serve', 'worker'].includes(process.argv[2] ?? '')) process.exit(code);

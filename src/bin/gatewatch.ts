#!/usr/bin/env node
import { runCli } from '../cli/program.js';

const code = await runCli(process.argv);
process.exitCode = code;
// Long-running commands keep their own handles open; one-shot commands end here.
if (!['start', 'serve', 'worker'].includes(process.argv[2] ?? '')) process.exit(code);

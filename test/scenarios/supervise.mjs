// A process supervisor (systemd's Restart=always, a container runtime): runs
// `app.mjs MODE ARG` on a fixed PORT and starts it again 300 ms after it dies.
// Prints {"port": N} when the first instance listens, then {"restart": K} each time
// a new instance listens.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const APP = fileURLToPath(new URL('./app.mjs', import.meta.url));
const [mode = 'ok', arg = ''] = process.argv.slice(2);
let restarts = 0;
let child;

function start() {
  child = spawn(process.execPath, [APP, mode, arg], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  createInterface({ input: child.stdout }).once('line', (line) => {
    const { port } = JSON.parse(line);
    process.stdout.write(`${JSON.stringify(restarts === 0 ? { port } : { restart: restarts })}\n`);
    restarts++;
  });
  child.once('exit', () => setTimeout(start, 300));
}
process.on('SIGTERM', () => {
  child?.kill('SIGKILL');
  process.exit(0);
});
start();

// The demo's upstream: healthy until told to break, then it fails the way real upstreams do.
//   curl -X POST localhost:8081/break?mode=reset   (accept, then reset: nginx answers 502)
//   curl -X POST localhost:8081/break?mode=hang    (never answer: nginx times out)
//   curl -X POST localhost:8081/fix
// Or stop it outright: docker compose --profile demo stop upstream (refused: 502).
import { createServer } from 'node:http';

let mode = 'ok';
createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'POST' && url.pathname === '/break') {
    mode = url.searchParams.get('mode') === 'hang' ? 'hang' : 'reset';
    return res.end(`broken: ${mode}\n`);
  }
  if (req.method === 'POST' && url.pathname === '/fix') {
    mode = 'ok';
    return res.end('fixed\n');
  }
  if (mode === 'reset') return req.socket.resetAndDestroy();
  if (mode === 'hang') return;
  res.end('ok\n');
}).listen(8080, '0.0.0.0');

// Which build outputs are older than their sources. The end-to-end tests spawn dist/ (the
// server) and serve dist-web/ (the dashboard), so a test run against a stale build would test
// yesterday's code: run-tests.mjs rebuilds what is stale, and the test helpers refuse to start
// a server from a stale build.
import fs from 'node:fs';
import path from 'node:path';

function newest(dir, exts) {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0);

/** The stale parts under `root`, each with the command that rebuilds it. */
export function staleBuilds(root) {
  const out = [];
  if (newest(path.join(root, 'src'), ['.ts']) > mtime(path.join(root, 'dist', 'main.js'))) out.push({ what: 'dist/', script: 'build:server' });
  const web = newest(path.join(root, 'web'), ['.ts', '.tsx', '.css', '.html']);
  if (web > mtime(path.join(root, 'dist-web', 'index.html'))) out.push({ what: 'dist-web/', script: 'build:web' });
  return out;
}

#!/usr/bin/env node
// Bundles the client-only CLI (src/cli/user/standalone.ts, the SDK and its contract schemas,
// commander, cli-progress) into cli/dist/easel.mjs: one file, no runtime dependencies, so the
// packed `easel-cli` installs into any prefix without a registry (`npm run pack:cli`).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
await build({
  entryPoints: [path.join(root, 'src/cli/user/standalone.ts')],
  outfile: path.join(root, 'cli/dist/easel.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'eof',
});
fs.chmodSync(path.join(root, 'cli/dist/easel.mjs'), 0o755);
// The client's version follows the server's.
const cliPkgFile = path.join(root, 'cli/package.json');
const cliPkg = JSON.parse(fs.readFileSync(cliPkgFile, 'utf8'));
if (cliPkg.version !== pkg.version) {
  cliPkg.version = pkg.version;
  fs.writeFileSync(cliPkgFile, `${JSON.stringify(cliPkg, null, 2)}\n`);
}

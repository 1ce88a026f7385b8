import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { MODE, ROOT } from '../helpers/server.js';

/**
 * The README's Quick start, pasted whole into bash on a fresh copy of the repository.
 *
 * What it does: copies the repository's tracked files (`git ls-files`: what a clone holds; no
 * dist/, data/ or node_modules/) into an empty directory, takes the first ```sh block under
 * "## Quick start" from README.md exactly as written, changes only its port (8080 → a free one,
 * also given as EASEL_PORT, since other servers may run on this machine), and runs it with bash.
 * It then finds the PNG URL in the output, downloads it, and stops the server by killing the
 * `npm start` process the block backgrounded: the server must go with it.
 *
 * What it does not prove: that `npm ci` downloads and installs from the registry. A real npm ci
 * takes about 3½ minutes, so `npm` is wrapped for this run only (a script first on PATH): `npm ci`
 * links the already-installed node_modules/ of this checkout and then runs `npm run prepare` (the
 * full build, as npm ci would), and every other npm command (npm start, npx) is the real npm.
 * CI's own `npm ci` at the start of every run is what proves the lock file installs.
 * Runs in the embedded pass only: the Quick start uses the embedded defaults in both.
 */
// Registered in the embedded pass only (the Quick start uses the embedded defaults), so the scale-out pass neither runs nor counts it.
const onlyEmbedded = MODE === 'embedded' ? describe : () => undefined;

function quickStartBlock(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Quick start'));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'README has a ```sh block under ## Quick start');
  return m[1]!;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function answers(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

async function until(fn: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every process started here, to clean up by process group whatever happens. */
const started: ChildProcess[] = [];
after(() => {
  for (const c of started) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function realNpm(): string {
  return execFileSync('bash', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
}

onlyEmbedded('README Quick start', () => {
  it('pasted whole into bash on a fresh copy of the repository, gives an image URL that downloads; killing npm start stops the server', { timeout: 600_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-quickstart-'));
    const clone = path.join(dir, 'easel');
    fs.mkdirSync(clone);
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const f of files) {
      const src = path.join(ROOT, f);
      if (!fs.existsSync(src) || fs.lstatSync(src).isDirectory()) continue;
      fs.mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
      fs.copyFileSync(src, path.join(clone, f));
    }
    assert.ok(!fs.existsSync(path.join(clone, 'dist')) && !fs.existsSync(path.join(clone, 'node_modules')) && !fs.existsSync(path.join(clone, 'data')));

    const shim = path.join(dir, 'shim');
    fs.mkdirSync(shim);
    fs.writeFileSync(
      path.join(shim, 'npm'),
      `#!/bin/sh\n# Quick start test only: npm ci links the installed node_modules and builds; all else is the real npm.\nif [ "$1" = "ci" ]; then\n  ln -s "${path.join(ROOT, 'node_modules')}" node_modules && exec "${realNpm()}" run prepare\nfi\nexec "${realNpm()}" "$@"\n`,
      { mode: 0o755 },
    );

    const port = await freePort();
    const block = quickStartBlock().replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
    assert.match(block, /^npm ci\s/m, 'the block installs in the foreground');
    assert.match(block, /^npm start &/m);
    // After the block, the shell prints the backgrounded npm's pid for the test to stop it.
    const script = `${block}\necho "QUICKSTART_NPM_PID=$!"\n`;
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${shim}:${process.env.PATH}`, EASEL_PORT: String(port), HOME: dir };
    for (const k of Object.keys(env)) if (k.startsWith('EASEL_') && k !== 'EASEL_PORT') delete env[k];
    for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];
    // Output goes to files, not pipes: the backgrounded `npm start` shares the shell's stdout, and node makes a
    // pipe it is given non-blocking, so on a loaded machine the shell's own echo could fail with EAGAIN when
    // the pipe is full. A file never answers EAGAIN.
    const outFile = path.join(dir, 'stdout.txt');
    const errFile = path.join(dir, 'stderr.txt');
    const outFd = fs.openSync(outFile, 'w');
    const errFd = fs.openSync(errFile, 'w');
    const child = spawn('bash', ['-c', script], { cwd: clone, env, detached: true, stdio: ['ignore', outFd, errFd] });
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    started.push(child);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const out = fs.readFileSync(outFile, 'utf8');
    const err = fs.readFileSync(errFile, 'utf8');
    fs.writeFileSync(path.join(ROOT, 'test-artifacts', 'quickstart-output.txt'), `${script}\n--- stdout\n${out}\n--- stderr\n${err}`);
    assert.equal(code, 0, err.slice(-2000));

    const npmPid = Number(/QUICKSTART_NPM_PID=(\d+)/.exec(out)?.[1]);
    assert.ok(npmPid > 0 && alive(npmPid), 'npm start is running in the background');
    const m = /"png":\{"url":"([^"]+)"/.exec(out);
    assert.ok(m, `an image URL in the output: ${out.slice(0, 1500)}`);
    const img = await fetch(m[1]!);
    assert.equal(img.status, 200);
    const png = Buffer.from(await img.arrayBuffer());
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.width! > meta.height!, '16:9');
    assert.match(out, /"generations":\[/, 'the jobs list answered');
    assert.match(out, /"openapi":"3\.1/, 'the OpenAPI document answered');
    assert.ok(!/FSTDEP|MaxListenersExceeded|EBADENGINE/.test(out + err), 'no deprecation or engine warnings');

    // `kill %1` / `kill $!` of the npm start the block backgrounded stops the server.
    process.kill(npmPid, 'SIGTERM');
    assert.ok(await until(async () => !(await answers(port)), 20_000), 'the server stopped with npm');
    assert.ok(await until(async () => !alive(npmPid), 10_000));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

onlyEmbedded('npm start and signals', () => {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${signal} to the npm process stops the server it started`, { timeout: 120_000 }, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-npmstart-'));
      const port = await freePort();
      const env: NodeJS.ProcessEnv = { ...process.env, EASEL_PORT: String(port), EASEL_DATA_DIR: path.join(dir, 'data') };
      for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];
      delete env.EASEL_DATABASE_URL;
      const npm = spawn(realNpm(), ['start'], { cwd: ROOT, env, detached: true, stdio: 'ignore' });
      started.push(npm);
      assert.ok(await until(() => answers(port), 60_000), 'the server answered');
      process.kill(npm.pid!, signal);
      // SIGTERM: npm passes it on. SIGKILL: npm cannot; the server notices it lost its launcher.
      assert.ok(await until(async () => !(await answers(port)), 20_000), `the server stopped after ${signal} to npm`);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
});

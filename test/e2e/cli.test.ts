import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { BIN, EaselProcess, ROOT, api, waitFor } from '../helpers/server.js';
import { runCli, startCli, storyboard, tmpHome } from '../helpers/cli.js';

const tmpDir = (p = 'easel-cli-') => fs.mkdtempSync(path.join(os.tmpdir(), p));
const ERROR_LINE = /^error: [a-z_0-9]+: .+ \(request req_[A-Za-z0-9]+\)$/m;

/** Asserts a failed run: its exit code, the one-line error on stderr, and no stack trace. */
function assertFailure(r: { code: number | null; stderr: string }, code: number, errorCode: string): void {
  assert.equal(r.code, code, r.stderr);
  assert.match(r.stderr, ERROR_LINE);
  assert.match(r.stderr, new RegExp(`^error: ${errorCode}: `, 'm'));
  assert.ok(!/\n\s+at .+:\d+/.test(r.stderr), `no stack trace:\n${r.stderr}`);
}

async function decodedFormats(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir).filter((f) => !f.endsWith('.json'))) out[f] = (await sharp(fs.readFileSync(path.join(dir, f))).metadata()).format!;
  return out;
}

describe('easel CLI against a real server', () => {
  let srv: EaselProcess;
  let key: string;
  let env: Record<string, string>;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '50' } });
    key = await srv.createKey('cli-main', '20');
    env = { EASEL_API_KEY: key, EASEL_BASE_URL: srv.baseUrl };
  });
  after(() => srv.stop());

  it('image "…" --out DIR leaves a decoded image and prints its path (pipe mode)', async () => {
    const out = tmpDir();
    const r = await runCli(['image', 'a lighthouse on a cliff at dusk', '--out', out, '--aspect-ratio', '16:9'], env);
    assert.equal(r.code, 0, r.stderr);
    const files = fs.readdirSync(out);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^image-\d{8}-\d{6}-[0-9a-f]{8}\.png$/);
    assert.equal(r.stdout.trim(), path.join(out, files[0]!), 'stdout is not a TTY: only the path');
    const meta = await sharp(fs.readFileSync(path.join(out, files[0]!))).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 1024, 576]);
  });

  it('--format all saves png, jpeg and webp; --json prints the API answer with the files; --size is the aspect ratio', async () => {
    const out = tmpDir();
    const r = await runCli(['image', 'a round blue app icon', '--out', out, '--format', 'all', '--json', '--size', '9:16', '--model', 'easel-sketch-fast'], env);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    assert.equal(body.ai_generated, true);
    assert.equal(body.model, 'easel-sketch-fast');
    assert.equal(body.files.length, 3);
    const formats = await decodedFormats(out);
    assert.deepEqual(Object.values(formats).sort(), ['jpeg', 'png', 'webp']);
    const meta = await sharp(fs.readFileSync(body.files[0])).metadata();
    assert.deepEqual([meta.width, meta.height], [576, 1024]);
  });

  it('exit 2 for a bad key, 3 without credits, 4 for a rejected prompt, 1 for an unknown model — each from the server\'s answer', async () => {
    const out = tmpDir();
    assertFailure(await runCli(['image', 'a calm lake', '--out', out], { ...env, EASEL_API_KEY: 'esl_' + 'B'.repeat(43) }), 2, 'auth_invalid');
    const poor = await srv.createKey('cli-poor');
    const credits = await runCli(['image', 'a calm lake', '--out', out], { ...env, EASEL_API_KEY: poor });
    assertFailure(credits, 3, 'credit_insufficient');
    assertFailure(await runCli(['image', 'a gory battlefield', '--out', out], env), 4, 'content_rejected');
    assertFailure(await runCli(['image', 'a calm lake', '--model', 'no-such-model', '--out', out], env), 1, 'model_not_found');
    assert.deepEqual(fs.readdirSync(out), [], 'nothing was saved');
  });

  it('exit 2 with a clear message when no key is configured at all', async () => {
    const r = await runCli(['balance'], { EASEL_BASE_URL: srv.baseUrl });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: auth_missing: No API key/m);
  });

  it('login writes ~/.config/easel/config.json with mode 0600, and later commands use it', async () => {
    const home = tmpHome();
    const r = await runCli(['login', '--api-key', key, '--base-url', srv.baseUrl], { HOME: home });
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(home, '.config', 'easel', 'config.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { api_key: key, base_url: srv.baseUrl });
    const bal = await runCli(['balance'], { HOME: home });
    assert.equal(bal.code, 0, bal.stderr);
    assert.match(bal.stdout.trim(), /^\d+\.\d{6}$/);
    // A flag beats the file.
    assertFailure(await runCli(['balance', '--api-key', 'esl_' + 'C'.repeat(43)], { HOME: home }), 2, 'auth_invalid');
  });

  it('login checks the key and the base URL against the server before saving anything', async () => {
    const home = tmpHome();
    const file = path.join(home, '.config', 'easel', 'config.json');
    const bad = await runCli(['login', '--api-key', 'esl_' + 'D'.repeat(43), '--base-url', srv.baseUrl], { HOME: home });
    assertFailure(bad, 2, 'auth_invalid');
    assert.equal(fs.existsSync(file), false, 'a refused key is not saved');
    const nowhere = await runCli(['login', '--api-key', key, '--base-url', 'http://127.0.0.1:9'], { HOME: home });
    assert.equal(nowhere.code, 1, nowhere.stderr);
    assert.match(nowhere.stderr, /^error: connection_failed: Cannot reach an Easel server at http:\/\/127\.0\.0\.1:9/m);
    assert.equal(fs.existsSync(file), false, 'nothing saved for an unreachable server');
    const ok = await runCli(['login', '--api-key', key, '--base-url', srv.baseUrl], { HOME: home });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^key accepted by http:\/\/127\.0\.0\.1:\d+ \(balance €\d+\.\d+\)$/m);
    const offline = await runCli(['login', '--api-key', 'esl_' + 'E'.repeat(43), '--base-url', 'http://127.0.0.1:9', '--no-verify'], { HOME: tmpHome() });
    assert.equal(offline.code, 0, '--no-verify saves without asking');
  });

  it('the packed client (npm run pack:cli) installs into any prefix with no registry, and runs from anywhere', { timeout: 180_000 }, async () => {
    const work = tmpDir('easel-cli-pack-');
    const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_'))) as Record<string, string>;
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-cli.mjs')], { cwd: ROOT });
    const tgz = execFileSync('npm', ['pack', path.join(ROOT, 'cli'), '--pack-destination', work, '--silent'], { cwd: work, env: npmEnv, encoding: 'utf8' }).trim().split('\n').pop()!;
    const prefix = path.join(work, 'prefix');
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', path.join(work, tgz)], { cwd: work, env: { ...npmEnv, HOME: work } });
    const bin = path.join(prefix, 'bin', 'easel');
    assert.ok(fs.existsSync(bin), 'bin/easel in the prefix');
    const home = tmpHome();
    const run = (args: string[]) => spawnSync(bin, args, { cwd: work, env: { PATH: process.env.PATH!, HOME: home }, encoding: 'utf8' });
    const help = run(['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /image/);
    const login = run(['login', '--api-key', key, '--base-url', srv.baseUrl]);
    assert.equal(login.status, 0, login.stderr);
    const out = path.join(work, 'shots');
    const img = run(['image', 'a red cat sleeping on a sofa', '--out', out]);
    assert.equal(img.status, 0, img.stderr);
    const saved = fs.readdirSync(out);
    assert.equal(saved.length, 1);
    assert.equal((await sharp(fs.readFileSync(path.join(out, saved[0]!))).metadata()).format, 'png');
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('models, balance and jobs list|show; jobs cancel prints the server\'s error and exits 1', async () => {
    const models = await runCli(['models'], env);
    assert.equal(models.code, 0, models.stderr);
    assert.deepEqual(models.stdout.trim().split('\n'), ['easel-sketch', 'easel-sketch-fast']);
    const json = JSON.parse((await runCli(['models', '--json'], env)).stdout);
    assert.ok(json.models.every((m: { approximate_cost_eur: string }) => /^\d+\.\d{6}$/.test(m.approximate_cost_eur)));

    const img = JSON.parse((await runCli(['image', 'a teapot', '--json', '--out', tmpDir()], env)).stdout);
    const list = await runCli(['jobs', 'list', '--limit', '5'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${img.id}\\timage\\tcompleted\\t`, 'm'));
    assert.match(list.stdout, new RegExp(`^${img.id}\\t.*\\ta teapot$`, 'm'), 'the list says what each job is (its prompt); an image job shows no scene count');
    const saved = fs.readdirSync(path.dirname(img.files[0]));
    assert.ok(saved[0]!.endsWith(`-${img.id.replace(/-/g, '').slice(-8)}.png`), `file name ends with the id's random tail: ${saved[0]}`);
    const show = JSON.parse((await runCli(['jobs', 'show', img.id, '--json'], env)).stdout);
    assert.equal(show.job_id, img.id);
    assert.equal(show.status, 'completed');
    const cancel = await runCli(['jobs', 'cancel', img.id], env);
    // A finished job cannot be canceled: the server's 409 is printed and the exit code is 1.
    assert.equal(cancel.code, 1, cancel.stderr);
    assert.match(cancel.stderr, /^error: conflict: .*already completed.* \(request req_\w+\)$/m);
  });

  it('edit, combine, graphic and diagram save decoded images; local inputs are uploaded first', async () => {
    const dir = tmpDir();
    const gen = async (prompt: string) => (await runCli(['image', prompt, '--out', path.join(dir, 'in')], env)).stdout.trim();
    const [a, b] = [await gen('a red apple'), await gen('a green pear')];
    const edit = await runCli(['edit', 'image', a, 'make it blue', '--out', path.join(dir, 'edit')], env);
    assert.equal(edit.code, 0, edit.stderr);
    assert.match(path.basename(edit.stdout.trim()), /^edit-image-\d{8}-\d{6}-[0-9a-f]{8}\.png$/);
    const combine = await runCli(['combine', 'image', a, b, '--prompt', 'side by side', '--out', path.join(dir, 'combine')], env);
    assert.equal(combine.code, 0, combine.stderr);
    const graphic = await runCli(['graphic', 'a star icon', '--transparent-background', '--out', path.join(dir, 'graphic')], env);
    assert.equal(graphic.code, 0, graphic.stderr);
    assert.equal((await sharp(fs.readFileSync(graphic.stdout.trim())).metadata()).hasAlpha, true);
    const diagram = await runCli(['diagram', 'a login flow', '--type', 'sequence', '--out', path.join(dir, 'diagram')], env);
    assert.equal(diagram.code, 0, diagram.stderr);
    for (const r of [edit, combine, diagram]) assert.equal((await sharp(fs.readFileSync(r.stdout.trim())).metadata()).format, 'png');
    const badType = await runCli(['diagram', 'x', '--type', 'venn'], env);
    assert.equal(badType.code, 1, 'commander refuses an unknown --type');
    const tooFew = await runCli(['combine', 'image', a, '--prompt', 'alone'], env);
    assert.equal(tooFew.code, 1);
    assert.match(tooFew.stderr, /^error: invalid_argument: combine takes 2 to 5 inputs/m);
  });

  it('process crop|resize|convert|optimize|remove-bg save the result; "-" reads what another easel command printed', async () => {
    const dir = tmpDir();
    const src = (await runCli(['image', 'a bowl of lemons', '--out', dir], env)).stdout.trim();
    const proc = async (args: string[], stdin?: string | Buffer) => {
      const r = await runCli(['process', ...args, '--out', path.join(dir, 'p')], env, stdin !== undefined ? { stdin } : {});
      assert.equal(r.code, 0, r.stderr);
      return sharp(fs.readFileSync(r.stdout.trim())).metadata();
    };
    const crop = await proc(['crop', src, '--x', '10', '--y', '20', '--width', '100', '--height', '50']);
    assert.deepEqual([crop.width, crop.height], [100, 50]);
    // "-" with a path on stdin, as `easel image … | easel process resize - --width 256` passes it.
    const resized = await proc(['resize', '-', '--width', '256'], src + '\n');
    assert.deepEqual([resized.width, resized.height], [256, 256]);
    assert.equal((await proc(['convert', src, '--format', 'webp'])).format, 'webp');
    assert.equal((await proc(['optimize', src])).format, 'png');
    // "-" with image bytes on stdin (remove-bg needs a plain background: a square on white).
    const square = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#fff' } })
      .composite([{ input: await sharp({ create: { width: 80, height: 80, channels: 3, background: '#c22' } }).png().toBuffer(), left: 60, top: 60 }])
      .png()
      .toBuffer();
    const cut = await proc(['remove-bg', '-'], square);
    assert.equal(cut.hasAlpha, true);
    const noSide = await runCli(['process', 'resize', src], env);
    assert.equal(noSide.code, 1);
    assert.match(noSide.stderr, /^error: invalid_argument: resize needs --width and\/or --height/m);
    const missing = await runCli(['process', 'crop', path.join(dir, 'nope.png'), '--x', '0', '--y', '0', '--width', '1', '--height', '1'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: file_not_found: /m);
  });

  it('--reference is checked locally: FILE:"description", at most 5', async () => {
    const dir = tmpDir();
    const img = path.join(dir, 'ref.png');
    fs.writeFileSync(img, await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } }).png().toBuffer());
    const six = Array.from({ length: 6 }, () => ['--reference', `${img}:a red square`]).flat();
    const tooMany = await runCli(['image', 'x', ...six], env);
    assert.equal(tooMany.code, 1);
    assert.match(tooMany.stderr, /^error: invalid_argument: At most 5 --reference images/m);
    const noDesc = await runCli(['image', 'x', '--reference', img], env);
    assert.equal(noDesc.code, 1);
    assert.match(noDesc.stderr, /^error: invalid_argument: --reference ".*": expected FILE_OR_URL:"what it shows"/m);
  });

  it('story run on a 4-scene storyboard shows scene progress and leaves 4 decoded scenes and every character reference in a folder named after the job', async () => {
    const dir = tmpDir();
    const board = path.join(dir, 'storyboard.json');
    // Bram's reference is a local file next to the storyboard: the CLI uploads it and sends its URL.
    fs.writeFileSync(path.join(dir, 'bram.png'), await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336' } }).png().toBuffer());
    const sb = storyboard(4) as { characters: { name: string; reference_url?: string }[] };
    sb.characters[1]!.reference_url = 'bram.png';
    fs.writeFileSync(board, JSON.stringify(sb));
    const out = path.join(dir, 'out');
    const r = await runCli(['story', 'run', board, '--out', out, '--poll-interval', '50'], env);
    assert.equal(r.code, 0, r.stderr);
    const jobId = /^job ([0-9a-f-]{36})$/m.exec(r.stderr)?.[1];
    assert.ok(jobId, r.stderr);
    assert.deepEqual(fs.readdirSync(out), [jobId]);
    const folder = path.join(out, jobId);
    const formats = await decodedFormats(folder);
    assert.deepEqual(Object.keys(formats).sort(), ['character-aria.png', 'character-bram-storm.png', 'character-bram.png', 'scene-01.png', 'scene-02.png', 'scene-03.png', 'scene-04.png']);
    assert.ok(Object.values(formats).every((f) => f === 'png'));
    // Not a terminal: plain progress lines on stderr, ending at 4/4; file paths on stdout.
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('scenes '));
    assert.equal(lines.at(-1), 'scenes 4/4');
    for (const l of lines) assert.match(l, /^scenes [0-4]\/4$/);
    for (const l of r.stderr.split('\n').filter((x) => x.startsWith('portraits '))) assert.match(l, /^portraits \d\/\d$/);
    assert.equal(r.stdout.trim().split('\n').length, 7);
    const job = JSON.parse(fs.readFileSync(path.join(folder, 'job.json'), 'utf8'));
    assert.equal(job.status, 'completed');
    const bram = job.result.character_refs.find((c: { name: string }) => c.name === 'Bram');
    assert.match(bram.url, /\/uploads\//, 'the local reference was uploaded and used');
    assert.equal(bram.expires_at, null, 'a client-provided reference');
    assert.deepEqual((await sharp(fs.readFileSync(path.join(folder, 'character-bram.png'))).metadata()).width, 64, 'the downloaded reference is the uploaded file');
  });
});

describe('easel CLI: interrupted stories and a real terminal', () => {
  let srv: EaselProcess;
  let env: Record<string, string>;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '1500' } });
    env = { EASEL_API_KEY: await srv.createKey('cli-story', '20'), EASEL_BASE_URL: srv.baseUrl };
  });
  after(() => srv.stop());

  const scenesDone = async (id: string) => (await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key: env.EASEL_API_KEY })).body;

  it('killing the CLI mid-story and running story status <id> completes the download', async () => {
    const dir = tmpDir();
    const board = path.join(dir, 'storyboard.json');
    fs.writeFileSync(board, JSON.stringify(storyboard(4)));
    const out = path.join(dir, 'out');
    const cli = startCli(['story', 'run', board, '--out', out, '--poll-interval', '100'], env);
    const jobId = await cli.waitForStderr(/^job ([0-9a-f-]{36})$/m);
    await waitFor(async () => (await scenesDone(jobId)).scenes_completed >= 1, 60_000);
    cli.child.kill('SIGKILL');
    const killed = await cli.done;
    assert.equal(killed.signal, 'SIGKILL', 'the CLI was killed mid-story, not finished');
    assert.ok(!fs.existsSync(path.join(out, jobId, 'scene-04.png')), 'nothing complete on disk yet');

    const r = await runCli(['story', 'status', jobId, '--out', out, '--poll-interval', '100'], env);
    assert.equal(r.code, 0, r.stderr);
    const formats = await decodedFormats(path.join(out, jobId));
    assert.deepEqual(Object.keys(formats).sort(), ['character-aria.png', 'character-bram-storm.png', 'character-bram.png', 'scene-01.png', 'scene-02.png', 'scene-03.png', 'scene-04.png']);
    // Running it again finds everything in place and fetches nothing new.
    const again = await runCli(['story', 'status', jobId, '--out', out, '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).files.length, 7);
  });

  it('with the account\'s running and waiting limits full, another create exits 5 (rate limited) after its retries', async () => {
    // One job of the account runs at a time and one may wait: the story runs, one image waits, the CLI's image is refused.
    const limited = await EaselProcess.start({ env: { EASEL_MAX_CONCURRENT_JOBS: '1', EASEL_MAX_QUEUED_JOBS: '1', EASEL_SKETCH_LATENCY_MS: '3000' } });
    try {
      const key = await limited.createKey('cli-limited', '20');
      const lenv = { EASEL_API_KEY: key, EASEL_BASE_URL: limited.baseUrl };
      const dir = tmpDir();
      const board = path.join(dir, 'storyboard.json');
      fs.writeFileSync(board, JSON.stringify(storyboard(8)));
      // The first holds the account's only slot for a whole story (9 steps of 3 s).
      const first = startCli(['story', 'run', board, '--out', dir], lenv);
      await waitFor(async () => {
        if (first.exited) throw new Error(`the first CLI exited early:\n${first.stderr}`);
        const r = await api(limited.baseUrl, 'GET', '/v1/jobs', { key });
        return r.body.generations.some((j: { status: string }) => j.status === 'processing');
      }, 30_000);
      const waiting = await api(limited.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a waiting picture' }, headers: { prefer: 'wait=0' } });
      assert.equal(waiting.status, 202, 'the backlog takes one job');
      const second = await runCli(['image', 'a second picture', '--out', dir], lenv);
      assertFailure(second, 5, 'rate_limited');
      first.child.kill('SIGKILL');
      await first.done;
    } finally {
      await limited.stop();
    }
  });

  it('in a real terminal (tmux) the progress bar advances in place', async () => {
    const dir = tmpDir();
    const board = path.join(dir, 'storyboard.json');
    fs.writeFileSync(board, JSON.stringify(storyboard(4)));
    const script = path.join(dir, 'run.sh');
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    fs.writeFileSync(
      script,
      `export EASEL_API_KEY=${q(env.EASEL_API_KEY!)} EASEL_BASE_URL=${q(env.EASEL_BASE_URL!)} HOME=${q(dir)}\n` +
        `${q(process.execPath)} ${q(BIN)} story run ${q(board)} --out ${q(path.join(dir, 'out'))} --poll-interval 100\n` +
        `echo "EXIT=$?"\nsleep 600\n`,
    );
    const socket = `easel-test-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'cli', '-x', '160', '-y', '12', `bash ${q(script)}`);
    try {
      const capture = () => tmux('capture-pane', '-p', '-t', 'cli');
      const bar = (screen: string) => /scenes \[[#-]+\] (\d)\/4 \| \d+% \| ETA \S+ \| \w+/.exec(screen);
      const first = await waitFor(async () => {
        const s = capture();
        return bar(s) ? s : null;
      }, 60_000, 100);
      const v1 = Number(bar(first)![1]);
      assert.ok(v1 < 4, `the first capture is mid-story (${v1}/4)`);
      const second = await waitFor(async () => {
        const s = capture();
        const m = bar(s);
        return m && Number(m[1]) > v1 ? s : null;
      }, 60_000, 100);
      assert.notEqual(second, first, 'the screen changed');
      assert.equal(second.split('\n').filter((l) => l.startsWith('scenes [')).length, 1, 'the bar is redrawn in place, not printed again');
      const done = await waitFor(async () => {
        const s = capture();
        return /EXIT=\d+/.test(s) ? s : null;
      }, 60_000, 100);
      assert.match(done, /EXIT=0/);
      assert.match(done, /✓ Story [0-9a-f-]{36}: 4 scene file\(s\), 3 character reference\(s\)/);
    } finally {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
    }
  });
});

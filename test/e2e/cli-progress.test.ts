import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { BIN, EaselProcess, waitFor } from '../helpers/server.js';
import { runCli } from '../helpers/cli.js';

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'easel-cli-progress-'));
/** A plain progress line of a single picture: `sampling 50% step 10/20 eta 2s`. */
const LINE = /^(queued|loading|sampling|encoding) (\d+)%(?: step (\d+)\/(\d+))?(?: eta \S+)?$/;

/** The progress lines on stderr, parsed; any other stderr line is returned in `other`. */
function progressLines(stderr: string): { lines: { stage: string; pct: number; step?: number }[]; other: string[] } {
  const lines: { stage: string; pct: number; step?: number }[] = [];
  const other: string[] = [];
  for (const l of stderr.split('\n').filter(Boolean)) {
    const m = LINE.exec(l);
    if (m) lines.push({ stage: m[1]!, pct: Number(m[2]), ...(m[3] ? { step: Number(m[3]) } : {}) });
    else other.push(l);
  }
  return { lines, other };
}

const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || x >= xs[i - 1]!);

/**
 * The CLI's progress for single pictures and story scenes (issue 22, item 6), against a real
 * server whose offline renderer takes 3 s a picture in 20 steps: not a terminal, one line per
 * stage or quarter, in order, then the saved file; --no-progress, none; in a real terminal (tmux)
 * a bar redrawn in place.
 */
describe('easel CLI: live progress of a picture', () => {
  let srv: EaselProcess;
  let env: Record<string, string>;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '3000' } });
    env = { EASEL_API_KEY: await srv.createKey('cli-progress', '20'), EASEL_BASE_URL: srv.baseUrl };
  });
  after(() => srv.stop());

  it('image (not a terminal): a line per stage or quarter, percentages rising, then the saved file on stdout', async () => {
    const out = tmpDir();
    const r = await runCli(['image', 'a lighthouse at dusk', '--out', out], env);
    assert.equal(r.code, 0, r.stderr);
    const { lines, other } = progressLines(r.stderr);
    assert.deepEqual(other, [], 'nothing but progress lines on stderr');
    assert.ok(lines.length >= 3, `progress moved: ${r.stderr}`);
    assert.ok(lines.length <= 9, `a handful of lines, not one per report: ${r.stderr}`);
    assert.ok(ascending(lines.map((l) => l.pct)), `percentages in increasing order: ${r.stderr}`);
    assert.ok(lines.at(-1)!.pct > lines[0]!.pct, r.stderr);
    const sampling = lines.filter((l) => l.stage === 'sampling');
    assert.ok(sampling.length >= 2 && sampling.every((l) => l.step !== undefined), `sampling lines carry the step: ${r.stderr}`);
    assert.ok(ascending(sampling.map((l) => l.step!)), `steps rise: ${r.stderr}`);
    assert.ok(sampling.some((l) => l.pct > 0 && l.pct < 100), `a line mid-way: ${r.stderr}`);
    // Then the result, on stdout: the saved file, a whole image.
    const files = fs.readdirSync(out);
    assert.equal(files.length, 1);
    assert.equal(r.stdout.trim(), path.join(out, files[0]!));
    assert.equal((await sharp(fs.readFileSync(path.join(out, files[0]!))).metadata()).format, 'png');
  });

  it('--no-progress prints no progress line; --json keeps stdout one JSON document while progress goes to stderr', async () => {
    const out = tmpDir();
    const quiet = await runCli(['image', 'a fox in the snow', '--out', out, '--no-progress'], env);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '', 'nothing on stderr');
    assert.equal(quiet.stdout.trim().split('\n').length, 1);
    assert.ok(fs.existsSync(quiet.stdout.trim()));

    const json = await runCli(['graphic', 'a round blue app icon', '--out', out, '--json'], env);
    assert.equal(json.code, 0, json.stderr);
    const body = JSON.parse(json.stdout);
    assert.equal(body.files.length, 1);
    assert.ok(fs.existsSync(body.files[0]));
    assert.ok(progressLines(json.stderr).lines.length >= 3, `progress on stderr: ${json.stderr}`);
  });

  it('story run (not a terminal): scene n/N with the step within the scene, scenes in order, the scene counter as before', async () => {
    const dir = tmpDir();
    const board = path.join(dir, 'storyboard.json');
    fs.writeFileSync(board, JSON.stringify({ characters: [{ name: 'Aria', appearance: 'a young librarian with red hair' }], scenes: [{ prompt: 'Aria reads a map', characters: ['Aria'] }, { prompt: 'Aria sails away', characters: ['Aria'] }] }));
    const r = await runCli(['story', 'run', board, '--out', dir], env);
    assert.equal(r.code, 0, r.stderr);
    const scene = [...r.stderr.matchAll(/^scene (\d)\/2 (sampling|encoding) (\d+)%(?: step (\d+)\/20)?(?: eta \S+)?$/gm)];
    assert.ok(scene.length >= 3, `scene step lines: ${r.stderr}`);
    assert.ok(ascending(scene.map((m) => Number(m[1]))), `scenes in order: ${r.stderr}`);
    assert.ok(ascending(scene.map((m) => Number(m[3]))), `the story's percentage rises: ${r.stderr}`);
    assert.ok(new Set(scene.map((m) => m[1])).size === 2, `both scenes reported: ${r.stderr}`);
    assert.ok(scene.some((m) => m[2] === 'sampling' && m[4] !== undefined), `the step within the scene: ${r.stderr}`);
    assert.match(r.stderr, /^scenes 2\/2$/m, 'the scene counter is still there');
    const quiet = await runCli(['story', 'run', board, '--out', dir, '--no-progress'], env);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /^scenes? \d/m, `--no-progress: ${quiet.stderr}`);
  });

  it('in a real terminal (tmux) the picture\'s bar shows stage, step and ETA and is redrawn in place', async () => {
    const dir = tmpDir();
    const script = path.join(dir, 'run.sh');
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    fs.writeFileSync(
      script,
      `export EASEL_API_KEY=${q(env.EASEL_API_KEY!)} EASEL_BASE_URL=${q(env.EASEL_BASE_URL!)} HOME=${q(dir)}\n` +
        `${q(process.execPath)} ${q(BIN)} image 'a tram in the rain' --out ${q(path.join(dir, 'out'))}\n` +
        `echo "EXIT=$?"\nsleep 600\n`,
    );
    const socket = `easel-progress-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'cli', '-x', '160', '-y', '12', `bash ${q(script)}`);
    try {
      const capture = () => tmux('capture-pane', '-p', '-t', 'cli');
      const bar = (screen: string) => /sampling +\[[#-]+\] (\d+)% \| step (\d+)\/20 \| ETA \S+/.exec(screen);
      const first = await waitFor(async () => {
        const s = capture();
        const m = bar(s);
        return m && Number(m[1]) < 100 ? m : null;
      }, 60_000, 50);
      const later = await waitFor(async () => {
        const m = bar(capture());
        return m && Number(m[2]) > Number(first[2]) ? m : null;
      }, 60_000, 50);
      assert.ok(Number(later[1]) > Number(first[1]), `the percentage rose: ${first[0]} → ${later[0]}`);
      const done = await waitFor(async () => {
        const s = capture();
        return /EXIT=\d+/.test(s) ? s : null;
      }, 60_000, 100);
      assert.match(done, /EXIT=0/);
      assert.equal(done.split('\n').filter((l) => /\[[#-]+\] \d+%/.test(l)).length, 1, `one bar, redrawn in place:\n${done}`);
      assert.match(done, /done +\[#+\] 100%/, 'the bar ends full');
      assert.match(done, /✓ Generated: .+\.png {2}Model: easel-sketch/);
    } finally {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
    }
  });
});

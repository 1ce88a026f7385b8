import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, api, waitFor } from '../helpers/server.js';
import { runCli, startCli } from '../helpers/cli.js';

const tmpDir = (p = 'easel-batch-cli-') => fs.mkdtempSync(path.join(os.tmpdir(), p));
const SUBJECTS = ['a red apple', 'a blue boat', 'a green tree', 'a yellow sun', 'a grey cat', 'a white cloud', 'a brown dog', 'a pink flower', 'an orange fox', 'a black hat', 'a purple kite', 'a silver key'];

/** A JSONL items file of `n` image prompts (one create body a line, a blank line in the middle, which is skipped). */
function itemsFile(dir: string, n: number): string {
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `${SUBJECTS[i % SUBJECTS.length]} number ${i}` }));
  lines.splice(Math.floor(n / 2), 0, '');
  const file = path.join(dir, 'items.jsonl');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const images = (dir: string) => fs.readdirSync(dir).filter((f) => /^\d{4}\.png$/.test(f)).sort();

/** Every image decodes as a PNG of the size asked for. */
async function assertDecodable(dir: string, names: string[], size: [number, number] = [1024, 1024]): Promise<void> {
  for (const f of names) {
    const meta = await sharp(fs.readFileSync(path.join(dir, f))).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', ...size], f);
  }
}

function results(dir: string): { index: number; status: string; job_id: string; files?: string[]; result?: { formats: { png: { hash: string } } } }[] {
  const text = fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'));
  return text.trimEnd().split('\n').map((l) => JSON.parse(l));
}

describe('easel batch against a real server', () => {
  let srv: EaselProcess;
  let env: Record<string, string>;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '50' } });
    env = { EASEL_API_KEY: await srv.createKey('batch-cli', '20'), EASEL_BASE_URL: srv.baseUrl };
  });
  after(() => srv.stop());

  it('batch run of 12 items saves 12 decoded images named by index, results.jsonl and batch.json; a re-run resumes without fetching anything', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'out');
    const r = await runCli(['batch', 'run', itemsFile(dir, 12), '--out', out, '--defaults', '{"aspect_ratio":"16:9"}', '--metadata', '{"run":"e2e"}', '--poll-interval', '100'], env);
    assert.equal(r.code, 0, r.stderr);
    const id = /^batch ([0-9a-f-]{36}): 12 item\(s\), €[\d.]+ held$/m.exec(r.stderr)?.[1];
    assert.ok(id, r.stderr);
    const names = images(out);
    assert.deepEqual(names, Array.from({ length: 12 }, (_, i) => `${String(i).padStart(4, '0')}.png`));
    await assertDecodable(out, names, [1024, 576]);
    // Not a terminal: each saved path on stdout once, progress as plain lines ending at 12/12.
    assert.deepEqual(r.stdout.trim().split('\n').sort(), names.map((n) => path.join(out, n)));
    const progress = r.stderr.split('\n').filter((l) => l.startsWith('items '));
    for (const l of progress) assert.match(l, /^items \d+\/12 failed 0 saved \d+ eta (--|\d+s|\d+m\d\ds)$/);
    assert.match(progress.at(-1)!, /^items 12\/12 failed 0 saved 12 eta 0s$/);

    const rec = JSON.parse(fs.readFileSync(path.join(out, 'batch.json'), 'utf8'));
    assert.equal(rec.batch_id, id);
    assert.equal(rec.status, 'completed');
    assert.equal(rec.items_total, 12);
    const lines = results(out);
    assert.deepEqual(lines.map((l) => l.index), [...Array(12).keys()]);
    for (const l of lines) {
      assert.equal(l.status, 'completed');
      assert.deepEqual(l.files, [`${String(l.index).padStart(4, '0')}.png`]);
    }
    // The saved bytes are the item's image: the hash the server reports for it.
    const crypto = await import('node:crypto');
    const hash = crypto.createHash('sha256').update(fs.readFileSync(path.join(out, '0007.png'))).digest('hex');
    assert.equal(hash, lines[7]!.result!.formats.png.hash);

    const job = (await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key: env.EASEL_API_KEY })).body;
    assert.equal(job.operation, 'batch');
    assert.deepEqual(job.metadata, { run: 'e2e' });

    // The same command again finds batch.json, resumes that batch and fetches nothing.
    const before = new Map(names.map((n) => [n, fs.statSync(path.join(out, n))]));
    const again = await runCli(['batch', 'run', itemsFile(dir, 12), '--out', out, '--defaults', '{"aspect_ratio":"16:9"}', '--metadata', '{"run":"e2e"}', '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`^batch ${id}: resuming`, 'm'));
    const body = JSON.parse(again.stdout);
    assert.equal(body.job_id, id);
    assert.equal(body.downloaded, 0);
    assert.equal(body.files.length, 12);
    for (const [n, st] of before) {
      const now = fs.statSync(path.join(out, n));
      assert.deepEqual([now.ino, now.mtimeMs], [st.ino, st.mtimeMs], `${n} was not written again`);
    }
    const list = await runCli(['jobs', 'list', '--json'], env);
    assert.equal(JSON.parse(list.stdout).generations.filter((j: { operation: string }) => j.operation === 'batch').length, 1, 'the re-run created no second batch');

    // Another items file into the same directory is refused: it would mix two batches.
    fs.writeFileSync(path.join(dir, 'other.jsonl'), '{"prompt":"a lone lighthouse"}\n');
    const other = await runCli(['batch', 'run', path.join(dir, 'other.jsonl'), '--out', out], env);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /^error: batch_dir_in_use: /m);
  });

  it('batch status, items and --json show the counts; items lists index, status and error code', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'out');
    const r = await runCli(['batch', 'run', itemsFile(dir, 3), '--out', out, '--model', 'easel-sketch-fast', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(r.stdout);
    assert.equal(run.status, 'completed');
    assert.equal(run.batch.items_completed, 3);
    assert.equal(run.files.length, 3);
    assert.equal(run.results_file, path.join(out, 'results.jsonl'));
    assert.ok(results(out).every((l) => (l as unknown as { result: { model: string } }).result.model === 'easel-sketch-fast'), '--model became the items\' model');

    const status = await runCli(['batch', 'status', run.job_id], env);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.stdout.trim(), `${run.job_id}\tcompleted\t3/3\t0`);
    const json = JSON.parse((await runCli(['batch', 'status', run.job_id, '--json'], env)).stdout);
    assert.deepEqual([json.batch.items_total, json.batch.items_completed, json.batch.items_failed], [3, 3, 0]);

    const items = await runCli(['batch', 'items', run.job_id], env);
    assert.equal(items.code, 0, items.stderr);
    const rows = items.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.deepEqual(rows.map((c) => c.slice(0, 3)), [['0', 'completed', ''], ['1', 'completed', ''], ['2', 'completed', '']]);
    const failed = await runCli(['batch', 'items', run.job_id, '--status', 'failed'], env);
    assert.equal(failed.code, 0, failed.stderr);
    assert.equal(failed.stdout, '');
    const badStatus = await runCli(['batch', 'items', run.job_id, '--status', 'done'], env);
    assert.equal(badStatus.code, 1);
    assert.match(badStatus.stderr, /^error: invalid_argument: --status: "done"/m);
    const page = JSON.parse((await runCli(['batch', 'items', run.job_id, '--limit', '2', '--offset', '1', '--json'], env)).stdout);
    assert.deepEqual([page.items.map((i: { index: number }) => i.index), page.total], [[1, 2], 3]);
  });

  it('a refused batch exits with the server\'s code, names the refused item, charges nothing and leaves no batch.json', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'items.jsonl');
    fs.writeFileSync(file, ['{"prompt":"a calm lake"}', '{"prompt":"a gory battlefield"}', '{"prompt":"a quiet forest"}'].join('\n'));
    const out = path.join(dir, 'out');
    const balance = (await runCli(['balance'], env)).stdout.trim();
    const r = await runCli(['batch', 'run', file, '--out', out], env);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^error: content_rejected: .+ \(request req_\w+\)$/m);
    assert.match(r.stderr, /^ {2}item 1: content_rejected: /m);
    assert.equal(fs.existsSync(path.join(out, 'batch.json')), false);
    assert.equal((await runCli(['balance'], env)).stdout.trim(), balance, 'nothing charged');

    const poor = { ...env, EASEL_API_KEY: await srv.createKey('batch-poor') };
    const broke = await runCli(['batch', 'run', itemsFile(dir, 2), '--out', path.join(dir, 'poor')], poor);
    assert.equal(broke.code, 3, broke.stderr);
    assert.match(broke.stderr, /^error: credit_insufficient: /m);
    const missing = await runCli(['batch', 'run', path.join(dir, 'nope.jsonl'), '--out', out], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: file_not_found: /m);
    const badJson = await runCli(['batch', 'run', file, '--out', out, '--defaults', '[1]'], env);
    assert.equal(badJson.code, 1);
    assert.match(badJson.stderr, /^error: invalid_argument: --defaults: expected a JSON object/m);
  });
});

describe('easel batch: a killed run, resume and cancel', () => {
  let srv: EaselProcess;
  let env: Record<string, string>;

  before(async () => {
    // Two items of the account at a time, each 1 s: 12 items take about six seconds.
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '1000', EASEL_MAX_CONCURRENT_JOBS: '2' } });
    env = { EASEL_API_KEY: await srv.createKey('batch-resume', '20'), EASEL_BASE_URL: srv.baseUrl };
  });
  after(() => srv.stop());

  it('SIGKILL mid-batch, then batch status <id> --out DIR --watch completes the directory, fetching only what was missing', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'out');
    const cli = startCli(['batch', 'run', itemsFile(dir, 12), '--out', out, '--poll-interval', '100'], env);
    const id = await cli.waitForStderr(/^batch ([0-9a-f-]{36}): /m);
    await waitFor(async () => {
      if (cli.exited) throw new Error(`the CLI ended early:\n${cli.stderr}`);
      return fs.existsSync(out) && images(out).length >= 3;
    }, 60_000);
    cli.child.kill('SIGKILL');
    const killed = await cli.done;
    assert.equal(killed.signal, 'SIGKILL');
    const early = images(out);
    assert.ok(early.length >= 3 && early.length < 12, `killed part-way (${early.length} saved)`);
    assert.equal(fs.existsSync(path.join(out, 'results.jsonl')), false);
    const before = new Map(early.map((n) => [n, fs.statSync(path.join(out, n))]));

    const r = await runCli(['batch', 'status', id, '--out', out, '--watch', '--json', '--poll-interval', '100'], env);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    assert.equal(body.status, 'completed');
    const names = images(out);
    assert.equal(names.length, 12);
    await assertDecodable(out, names);
    assert.equal(body.files.length, 12);
    assert.equal(body.downloaded, 12 - early.length, 'each missing image fetched once, none of those in place');
    for (const [n, st] of before) {
      const now = fs.statSync(path.join(out, n));
      assert.deepEqual([now.ino, now.mtimeMs], [st.ino, st.mtimeMs], `${n} was not downloaded again`);
    }
    assert.deepEqual(fs.readdirSync(out).filter((f) => f.endsWith('.part')), [], 'no partial files left');
    assert.equal(results(out).length, 12);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'batch.json'), 'utf8')).status, 'completed');

    // A status of another batch into this directory is refused.
    const wrong = await runCli(['batch', 'status', '01890000-0000-7000-8000-000000000000', '--out', out], env);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^error: batch_dir_in_use: /m);
  });

  it('batch cancel keeps the finished items; the following run saves them and exits 1 with canceled; items --status failed lists the canceled', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'out');
    const cli = startCli(['batch', 'run', itemsFile(dir, 12), '--out', out, '--poll-interval', '100'], env);
    const id = await cli.waitForStderr(/^batch ([0-9a-f-]{36}): /m);
    await waitFor(async () => (await api(srv.baseUrl, 'GET', `/v1/batches/${id}`, { key: env.EASEL_API_KEY })).body.batch.items_completed >= 2, 60_000);
    const cancel = await runCli(['batch', 'cancel', id], env);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, new RegExp(`^${id}\\t(canceled|processing)$`, 'm'));
    const ran = await cli.done;
    assert.equal(ran.code, 1, ran.stderr);
    assert.match(ran.stderr, new RegExp(`^error: canceled: .+ \\(job ${id}\\)$`, 'm'));

    const job = (await api(srv.baseUrl, 'GET', `/v1/batches/${id}`, { key: env.EASEL_API_KEY })).body;
    assert.equal(job.canceled, true);
    const completed = job.batch.items_completed as number;
    assert.ok(completed >= 2 && completed < 12, `${completed} completed before the cancel`);
    assert.equal(images(out).length, completed, 'every completed item saved');
    await assertDecodable(out, images(out));
    const lines = results(out);
    assert.equal(lines.length, 12);
    assert.equal(lines.filter((l) => l.status === 'completed').length, completed);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'batch.json'), 'utf8')).status, 'canceled');

    const failed = await runCli(['batch', 'items', id, '--status', 'failed'], env);
    assert.equal(failed.code, 0, failed.stderr);
    const rows = failed.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.equal(rows.length, 12 - completed);
    for (const [, status, code] of rows) assert.deepEqual([status, code], ['canceled', 'canceled']);
    const watch = await runCli(['batch', 'status', id, '--watch'], env);
    assert.equal(watch.code, 1, 'watching a canceled batch exits non-zero');
    const again = await runCli(['batch', 'cancel', id], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: conflict: /m);
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import SQLite from 'better-sqlite3';
import sharp from 'sharp';
import { BIN, EaselProcess, MODE, S3_CREDS, S3_ENDPOINT, api, download, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { queryDb, writeDb } from '../helpers/store-snapshot.js';
import { assertSpecShape, openApiValidator } from '../helpers/spec-shapes.js';
import { uploadBytes } from '../helpers/upload.js';
import { photoLike } from '../helpers/images.js';

/**
 * Backups (issue 25, item 5). `easel backup` / `easel restore` are the embedded mode's (SQLite and
 * the data directory's disk): that part runs under EASEL_TEST_MODE=embedded. `easel verify`
 * checks either mode: it runs in both, on the mode's real store (the SQLite file and disk, or
 * PostgreSQL and the S3 bucket). Under scale-out the backup commands are proved to refuse, naming
 * what to use instead. Each describe says which mode it runs in.
 */

const execFileP = promisify(execFile);
const PRICE_MICROS = 20_000;

/** The real CLI with this environment: exit code and output. */
async function easel(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Downloads every format of a completed image job and decodes each with sharp. */
async function assertResultDownloads(job: any): Promise<void> {
  assert.equal(job.status, 'completed', JSON.stringify(job));
  for (const [fmt, f] of Object.entries<any>(job.result.formats)) {
    const dl = await download(f.url);
    assert.equal(dl.status, 200, `${job.job_id} ${fmt}: ${f.url}`);
    const meta = await sharp(dl.bytes).metadata();
    assert.equal(meta.format, fmt, `${job.job_id}: the ${fmt} file decodes as ${fmt}`);
    assert.ok((meta.width ?? 0) > 0 && (meta.height ?? 0) > 0);
    await sharp(dl.bytes).stats(); // every pixel decodes
  }
}

if (MODE === 'embedded') {
  describe('embedded mode: easel backup while jobs run, easel restore into a new data directory, easel verify', () => {
    let srv: EaselProcess;
    let restored: EaselProcess | null = null;
    let key: string;
    let validate: (name: string, v: unknown) => void;
    const backupDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-backup-')), 'b1');
    const newDir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-restored-'));
    const ids: string[] = [];
    /** Statuses in the backup's snapshot. */
    let snapshot = new Map<string, string>();
    /** A completed job whose files the "sweeper" deleted between the snapshot and the copy. */
    let swept = '';
    /** An upload made before the backup: its bytes. */
    let uploaded: Buffer;

    before(async () => {
      // Two slots and 1.5 s a picture: 20 jobs take about 15 s, so the backup finds most still queued or running.
      // A short lease: jobs the snapshot caught running are claimable again soon after a restore.
      // The sweeper's first pass runs 1 s after start, the next in an hour: the test plays its part by hand.
      srv = await EaselProcess.start({
        env: { EASEL_SKETCH_LATENCY_MS: '1500', EASEL_WORKER_CONCURRENCY: '2', EASEL_MAX_CONCURRENT_JOBS: '2', EASEL_LEASE_MS: '2000', EASEL_RETENTION_SWEEP_MS: '3600000' },
      });
      validate = openApiValidator((await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body);
      key = await srv.createKey('backup', '5');
    });
    after(async () => {
      await restored?.stop();
      await srv.stop();
    });

    const getJob = async (base: string, id: string) => {
      const r = await api(base, 'GET', `/v1/jobs/${id}`, { key });
      assert.equal(r.status, 200, r.text);
      assertSpecShape('job', r.body);
      validate('Job', r.body);
      return r.body;
    };

    it('takes a consistent backup online while 20 jobs are queued or running; a blob swept meanwhile is marked expired in it, not hidden', async () => {
      uploaded = await photoLike(160, 120);
      const up = await uploadBytes(srv.baseUrl, key, uploaded);
      assert.equal(up.status, 200, up.text);
      for (let i = 0; i < 20; i++) {
        const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `a lighthouse, take ${i}`, aspect_ratio: '21:9' }, headers: { prefer: 'wait=0' } });
        assert.equal(r.status, 202, r.text);
        ids.push(r.body.job_id);
      }
      const done = await waitFor(async () => {
        const rows = await queryDb(srv, "select id from jobs where status = 'completed' order by completed_at");
        return rows.length >= 2 ? rows.map((r) => String(r.id)) : null;
      }, 60_000, 100);

      // The retention sweeper's window, played deterministically: it deletes a due job's files first
      // and marks the job expired after (src/jobs/retention.ts). Caught in between by the backup.
      swept = done[0]!;
      await writeDb(srv, 'update jobs set result_expires_at = $1 where id = $2', [Date.now() - 1000, swept]);
      fs.rmSync(path.join(srv.dataDir, 'blobs', 'jobs', swept), { recursive: true });

      const b = await srv.cli(['backup', backupDir]);
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stdout, /backup written to .*: 1 accounts, 20 jobs, \d+ ledger rows, 1 uploads/);
      assert.match(b.stderr, new RegExp(`job ${swept}: its files were deleted by the retention sweeper during the backup; marked expired`));

      const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.format, 'easel-backup');
      assert.equal(manifest.version, 1);
      assert.equal(manifest.counts.jobs, 20);
      assert.deepEqual(
        manifest.dropped.map((d: any) => [d.kind, d.id, d.reason, d.action]),
        [['job', swept, 'retention', 'marked_expired']],
      );
      const listed = fs.readFileSync(path.join(backupDir, 'files.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(listed.length, manifest.counts.files);
      assert.ok(listed.some((f) => f.path === 'secrets.json'), 'the signing and encryption keys are in the backup');

      const db = new SQLite(path.join(backupDir, 'easel.sqlite'), { readonly: true });
      try {
        snapshot = new Map((db.prepare('select id, status from jobs').all() as { id: string; status: string }[]).map((r) => [r.id, r.status]));
        const expired = db.prepare('select result_expired_at from jobs where id = ?').pluck().get(swept);
        assert.ok(expired, 'the swept job is marked expired in the backup');
      } finally {
        db.close();
      }
      assert.deepEqual([...snapshot.keys()].sort(), [...ids].sort(), 'the snapshot has every submitted job');
      const inFlight = [...snapshot.values()].filter((s) => s === 'pending' || s === 'processing');
      const completed = [...snapshot.values()].filter((s) => s === 'completed');
      assert.ok(completed.length >= 2, `the snapshot has completed jobs (${[...snapshot.values()]})`);
      assert.ok(inFlight.length >= 1, `the snapshot caught jobs in flight (${[...snapshot.values()]})`);
      for (const f of listed.filter((f) => f.path.startsWith('blobs/jobs/'))) {
        assert.ok(snapshot.has(f.path.split('/')[2]), `${f.path} belongs to a job of the snapshot`);
        assert.ok(!f.path.startsWith(`blobs/jobs/${swept}/`));
      }

      // The source finishes its work; the backup does not change with it.
      await waitFor(async () => ((await queryDb(srv, "select count(*) n from jobs where status = 'completed'"))[0]!.n === 20 ? true : null), 120_000, 200);
    });

    it('restore refuses a non-empty data directory (unless --force) and a damaged backup; restores into a new one', async () => {
      const env = { ...process.env, EASEL_DATA_DIR: newDir };
      const r = await easel(['restore', backupDir], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /restored the backup of .* 1 accounts, 20 jobs/);

      const again = await easel(['restore', backupDir], env);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /is not empty: .*--force/);
      const forced = await easel(['restore', backupDir, '--force'], env);
      assert.equal(forced.code, 0, forced.stderr);

      // A backup whose file no longer matches its manifest is refused before the target is touched.
      const damagedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-damaged-'));
      fs.cpSync(backupDir, damagedDir, { recursive: true });
      const blobLine = fs.readFileSync(path.join(damagedDir, 'files.jsonl'), 'utf8').split('\n').find((l) => l.includes('"blobs/jobs/'))!;
      fs.appendFileSync(path.join(damagedDir, JSON.parse(blobLine).path), 'x');
      const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-restore-damaged-'));
      const bad = await easel(['restore', damagedDir], { ...process.env, EASEL_DATA_DIR: fresh });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /does not match its manifest .*the backup is damaged/);
      assert.deepEqual(fs.readdirSync(fresh), [], 'nothing was restored from a damaged backup');
      fs.rmSync(damagedDir, { recursive: true });
    });

    it('the restored server serves every job the snapshot completed (downloads decode), resumes the jobs it caught in flight, and its ledger is exact', async () => {
      await srv.stop(); // the source is gone: the restored deployment stands alone
      restored = await EaselProcess.start({ dataDir: newDir, env: { EASEL_LEASE_MS: '2000' } });
      const verify = await restored.cli(['verify']);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /^ok: ledger exact, every referenced blob present; 1 accounts, 20 jobs \(19 with kept files\), 1 uploads/m);
      const [upRow] = await queryDb(restored, 'select key from uploads');
      assert.deepEqual(fs.readFileSync(path.join(newDir, 'blobs', ...String(upRow!.key).split('/'))), uploaded, 'the upload is restored byte for byte');

      for (const [id, status] of snapshot) {
        if (status !== 'completed' || id === swept) continue;
        await assertResultDownloads(await getJob(restored.baseUrl, id));
      }
      // The job whose files were swept during the backup says so, as the source does once its sweep ends.
      const sweptJob = await getJob(restored.baseUrl, swept);
      assert.equal(sweptJob.status, 'completed');
      assert.equal(sweptJob.result_expired, true);
      assert.equal(sweptJob.result, undefined, 'no result that could not download');
      const urls = await api(restored.baseUrl, 'POST', `/v1/jobs/${swept}/urls`, { key });
      assert.equal(urls.status, 410);
      assert.equal(urls.body.error, 'result_expired');

      // What was queued or running at the snapshot is picked up by the restored server, as after a crash.
      for (const [id, status] of snapshot) {
        if (status === 'completed') continue;
        const j = await waitFor(async () => {
          const x = await getJob(restored!.baseUrl, id);
          return x.status === 'completed' || x.status === 'failed' ? x : null;
        }, 120_000, 200);
        await assertResultDownloads(j);
      }
      const audit = await auditLedger(restored, 'backup');
      assert.equal(audit.held, 0);
      assert.equal(audit.captures, 20 * PRICE_MICROS, 'each of the 20 jobs charged once');
      assert.equal(audit.available, 5_000_000 - 20 * PRICE_MICROS);
      assert.equal(audit.ledgerAvailable, audit.available);
      assert.equal(audit.ledgerHeld, audit.held);
      assert.deepEqual(audit.unbalancedTerminalJobs, []);
      assert.deepEqual(audit.chargeMismatches, []);
      const after = await restored.cli(['verify']);
      assert.equal(after.code, 0, after.stdout + after.stderr);
    });

    it('verify names the job of a deleted blob and the account of a corrupted ledger row (exit 1)', async () => {
      const victim = [...snapshot].find(([id, s]) => s === 'completed' && id !== swept)![0];
      const file = path.join(newDir, 'blobs', 'jobs', victim, 'run-1', 'image.webp');
      assert.ok(fs.existsSync(file));
      fs.rmSync(file);
      const v = await restored!.cli(['verify']);
      assert.equal(v.code, 1, v.stdout);
      assert.match(v.stdout, new RegExp(`^problem: job ${victim}: blob jobs/${victim}/run-1/image\\.webp is missing$`, 'm'));
      assert.match(v.stdout, /^FAILED: 1 problem\(s\)/m);

      const [acc] = await queryDb(restored!, "select id from accounts where name = 'backup'");
      await writeDb(restored!, "update ledger set delta_available = delta_available + 1 where id = (select id from ledger where account_id = $1 and kind = 'grant')", [acc!.id]);
      const l = await restored!.cli(['verify']);
      assert.equal(l.code, 1);
      assert.match(l.stdout, new RegExp(`^problem: account ${String(acc!.id)}: available_micros is \\d+ but its ledger rows sum to \\d+$`, 'm'));
      assert.match(l.stdout, /^FAILED: 2 problem\(s\)/m);
    });
  });
}

if (MODE === 'scaleout') {
  describe('scale-out mode (PostgreSQL + S3): easel verify on the real database and bucket; backup and restore refuse and point to pg_dump / S3 versioning', () => {
    let srv: EaselProcess;
    let key: string;
    before(async () => {
      srv = await EaselProcess.start();
      key = await srv.createKey('verify-s3', '1');
    });
    after(() => srv.stop());

    it('passes on a healthy deployment, then names the job whose S3 object was deleted and the account of a corrupted ledger row', async () => {
      const jobs: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `a harbour, take ${i}` } });
        assert.equal(r.status, 200, r.text);
        jobs.push(r.headers.get('x-easel-job-id')!);
      }
      const ok = await srv.cli(['verify']);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /^ok: ledger exact, every referenced blob present; 1 accounts, 3 jobs \(3 with kept files\), 0 uploads, 9 blobs checked$/m);
      assert.match(ok.stderr, /database PostgreSQL/);

      const victim = jobs[1];
      const [row] = await queryDb(srv, 'select result_json from jobs where id = $1', [victim]);
      const objectKey = JSON.parse(String(row!.result_json)).image.formats.png.key as string;
      const s3 = new S3Client({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: S3_CREDS });
      try {
        await s3.send(new DeleteObjectCommand({ Bucket: srv.bucket!, Key: objectKey }));
      } finally {
        s3.destroy();
      }
      const v = await srv.cli(['verify']);
      assert.equal(v.code, 1, v.stdout);
      assert.match(v.stdout, new RegExp(`^problem: job ${victim}: blob ${objectKey.replace(/\./g, '\\.')} is missing$`, 'm'));

      const [acc] = await queryDb(srv, "select id from accounts where name = 'verify-s3'");
      await writeDb(srv, 'update accounts set held_micros = held_micros + 7 where id = $1', [acc!.id]);
      const l = await srv.cli(['verify']);
      assert.equal(l.code, 1);
      assert.match(l.stdout, new RegExp(`^problem: account ${String(acc!.id)}: held_micros is 7 but its ledger rows sum to 0$`, 'm'));
      assert.match(l.stdout, /^FAILED: 2 problem\(s\)/m);
    });

    it('easel backup and easel restore refuse, naming what backs up a scale-out deployment', async () => {
      const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-backup-')), 'b');
      const b = await srv.cli(['backup', dir]);
      assert.equal(b.code, 1);
      assert.match(b.stderr, /easel backup is for the embedded mode .*PostgreSQL.*pg_dump.*docs\/DEPLOY\.md "Backups"/);
      assert.equal(fs.existsSync(dir), false, 'nothing written');
      const r = await srv.cli(['restore', dir]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /easel restore is for the embedded mode/);
    });
  });
}

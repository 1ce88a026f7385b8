import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { EaselProcess, MODE, api, waitFor } from '../helpers/server.js';
import { queryDb, writeDb } from '../helpers/store-snapshot.js';

/**
 * Issue 20, item 5: the data directory is private (0700 directories, 0600 files: SQLite and its
 * -wal/-shm, blobs, secrets), webhook signing secrets are stored encrypted (no `whsec_` in the
 * database's bytes or rows), deliveries still verify with the secret the client was given, and
 * a data directory and database from before (loose modes, plaintext secrets, a secrets.json
 * without the encryption key) are tightened and sealed on start.
 */
interface Received {
  headers: Record<string, string>;
  body: string;
}

async function receiver() {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`;
  return { url, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const verify = (secret: string, r: Received) =>
  new Webhook(secret).verify(r.body, { 'webhook-id': r.headers['webhook-id']!, 'webhook-timestamp': r.headers['webhook-timestamp']!, 'webhook-signature': r.headers['webhook-signature']! }) as {
    type: string;
    data: { job_id?: string; job?: { job_id: string } };
  };

const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

/** Every file and directory under `dir` with a mode looser than private. */
function looseEntries(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (modeOf(d) & 0o077) out.push(`${d} ${modeOf(d).toString(8)}`);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (modeOf(p) & 0o077) out.push(`${p} ${modeOf(p).toString(8)}`);
    }
  };
  walk(dir);
  return out;
}

describe(`secrets at rest and a private data directory (${MODE})`, () => {
  const env = { EASEL_ALLOW_LOOPBACK_URLS: 'true', EASEL_WEBHOOK_POLL_MS: '100', EASEL_WEBHOOK_RETRY_BASE_MS: '200' };
  let srv: EaselProcess;
  let key: string;
  let accountId: string;
  let rx: Awaited<ReturnType<typeof receiver>>;

  before(async () => {
    rx = await receiver();
    srv = await EaselProcess.start({ env });
    key = await srv.createKey('at-rest', '1');
    accountId = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.id;
  });
  after(async () => {
    await srv?.stop();
    await rx?.close();
  });

  /** Runs a job with the account's webhook and returns the deliveries of it the receiver got. */
  const deliveriesOfAJob = async (prompt: string) => {
    const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt } });
    assert.equal(r.status, 200, r.text);
    const id = r.body.id;
    return waitFor(async () => {
      const mine = rx.got.filter((g) => g.body.includes(id));
      return mine.some((g) => g.body.includes('job.completed')) ? mine : null;
    }, 30_000, 100);
  };

  const storedSecrets = async () =>
    (await queryDb(srv, 'SELECT secret, previous_secret FROM webhook_endpoints WHERE account_id = $1', [accountId]))[0] as { secret: string; previous_secret: string | null };

  it('webhook secrets are stored encrypted; deliveries verify with the secret the client got, before and after a rotation', async () => {
    const put = await api(srv.baseUrl, 'PUT', '/v1/account/webhook', { key, body: { url: rx.url } });
    assert.equal(put.status, 200, put.text);
    const secret = put.body.secret as string;
    assert.match(secret, /^whsec_/);
    for (const d of await deliveriesOfAJob('a kite over the dunes')) verify(secret, d);

    const rotated = await api(srv.baseUrl, 'POST', '/v1/account/webhook/rotate-secret', { key, body: { expire_previous_in_s: 3600 } });
    assert.equal(rotated.status, 200, rotated.text);
    const next = rotated.body.secret as string;
    assert.notEqual(next, secret);
    // Signed with both while the old one lasts: each alone verifies.
    for (const d of await deliveriesOfAJob('a kite at night')) {
      verify(next, d);
      verify(secret, d);
    }

    const row = await storedSecrets();
    assert.match(row.secret, /^enc:v1:[A-Za-z0-9+/=]+$/);
    assert.match(row.previous_secret!, /^enc:v1:/);
    assert.ok(!row.secret.includes(next.slice(6)) && !row.previous_secret!.includes(secret.slice(6)));
    if (MODE === 'embedded') {
      // The raw bytes of the database and its WAL, as someone copying the files would read them.
      for (const f of ['easel.sqlite', 'easel.sqlite-wal', 'easel.sqlite-shm']) {
        const p = path.join(srv.dataDir, f);
        if (fs.existsSync(p)) assert.equal(fs.readFileSync(p).indexOf('whsec_'), -1, `${f} holds no whsec_`);
      }
    } else {
      const rows = await queryDb(srv, "SELECT count(*)::int AS n FROM webhook_endpoints WHERE secret LIKE '%whsec_%' OR previous_secret LIKE '%whsec_%'");
      assert.equal(rows[0]!.n, 0);
    }
  });

  it('the data directory is 0700 and everything the server wrote in it is private (SQLite, -wal, -shm, blobs, secrets.json)', async () => {
    assert.equal(modeOf(srv.dataDir), 0o700);
    assert.equal(modeOf(path.join(srv.dataDir, 'secrets.json')), 0o600);
    if (MODE === 'embedded') {
      for (const f of ['easel.sqlite', 'easel.sqlite-wal', 'easel.sqlite-shm']) assert.equal(modeOf(path.join(srv.dataDir, f)), 0o600, f);
      const jobs = path.join(srv.dataDir, 'blobs', 'jobs');
      assert.ok(fs.readdirSync(jobs).length >= 2, 'the images were stored on disk');
    }
    assert.deepEqual(looseEntries(srv.dataDir), []);
  });

  it('a data directory from before is tightened and its plaintext secrets are sealed on start; they still sign', async () => {
    await srv.kill('SIGTERM');
    const legacy = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    await writeDb(srv, 'UPDATE webhook_endpoints SET secret = $1, previous_secret = NULL, previous_secret_expires_at = NULL WHERE account_id = $2', [legacy, accountId]);
    // As an older version left it: world-readable, and secrets.json without the encryption key.
    const secretsFile = path.join(srv.dataDir, 'secrets.json');
    const { url_signing_key } = JSON.parse(fs.readFileSync(secretsFile, 'utf8'));
    fs.writeFileSync(secretsFile, JSON.stringify({ url_signing_key }));
    fs.chmodSync(srv.dataDir, 0o755);
    for (const e of fs.readdirSync(srv.dataDir, { withFileTypes: true })) fs.chmodSync(path.join(srv.dataDir, e.name), e.isDirectory() ? 0o755 : 0o644);

    await srv.boot();
    assert.equal(modeOf(srv.dataDir), 0o700);
    const top = fs.readdirSync(srv.dataDir, { withFileTypes: true });
    for (const e of top) assert.equal(modeOf(path.join(srv.dataDir, e.name)), e.isDirectory() ? 0o700 : 0o600, e.name);
    const file = JSON.parse(fs.readFileSync(secretsFile, 'utf8'));
    assert.equal(file.url_signing_key, url_signing_key, 'the URL key is kept: URLs already handed out stay valid');
    assert.equal(Buffer.from(file.webhook_encryption_key, 'base64').length, 32);

    assert.match((await storedSecrets()).secret, /^enc:v1:/);
    const shown = await api(srv.baseUrl, 'GET', '/v1/account/webhook', { key });
    assert.equal(shown.body.secret, legacy, 'the client keeps the secret it had');
    for (const d of await deliveriesOfAJob('a kite in the rain')) verify(legacy, d);
  });

  it('a process given another EASEL_SECRETS_KEY than the secrets were sealed with refuses to start, saying why', async () => {
    await assert.rejects(
      EaselProcess.start({ sharedWith: srv, env: { ...env, EASEL_SECRETS_KEY: 'another-key-of-at-least-32-characters!!' }, args: ['--no-worker'] }),
      /encrypted with another key/,
    );
  });
});

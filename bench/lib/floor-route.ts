/**
 * The status poll's "floor" anchor: the work a GET /v1/jobs/{id} cannot avoid, written directly on
 * a bare fastify route with nothing of Easel's framework around it — hash the bearer key, read the
 * key row and the job row from the same database (the same SQL, prepared once; better-sqlite3 on the
 * same file, or pg on the same PostgreSQL), parse the stored result, sign its 3 URLs with Easel's own
 * signers, serialise a body of the same shape and size, and write one JSON log line to stdout. No
 * hooks, no validation, no rate limit, no security headers, no metrics, no query builder.
 * What Easel costs above this is Easel's overhead; what this costs above the bare route is the work.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';

export interface FloorConfig {
  /** Easel's answer for the job, as the body template (its URLs are re-signed per request). */
  templateFile: string;
  sqliteFile?: string;
  databaseUrl?: string;
  /** S3 presigning (scale-out) instead of Easel's HMAC file URLs. */
  s3?: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
}

const KEY_SQL =
  'select api_keys.id as key_id, api_keys.key_hash, api_keys.revoked_at, accounts.id as account_id, accounts.status from api_keys inner join accounts on accounts.id = api_keys.account_id where api_keys.key_hash = ';
const JOB_SQL = 'select * from jobs where id = $1 and account_id = $2';

type Row = Record<string, unknown>;

export async function installFloorRoute(app: FastifyInstance, cfg: FloorConfig): Promise<() => Promise<void>> {
  const dist = new URL('../../dist/', import.meta.url);
  const template = JSON.parse(fs.readFileSync(cfg.templateFile, 'utf8')) as { result: { formats: Record<string, { url: string }> } };
  const log = pino({ base: { pid: process.pid } });

  let keyRow: (hash: string) => Promise<Row | undefined>;
  let jobRow: (id: string, account: string) => Promise<Row | undefined>;
  let close: () => Promise<void>;
  if (cfg.sqliteFile) {
    const { default: SQLite } = await import('better-sqlite3');
    const db = new SQLite(cfg.sqliteFile, { readonly: true });
    const k = db.prepare(`${KEY_SQL}?`);
    const j = db.prepare(JOB_SQL.replace('$1', '?').replace('$2', '?'));
    keyRow = async (h) => k.get(h) as Row | undefined;
    jobRow = async (id, a) => j.get(id, a) as Row | undefined;
    close = async () => void db.close();
  } else {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: cfg.databaseUrl, max: 6 });
    keyRow = async (h) => (await pool.query({ name: 'floor-key', text: `${KEY_SQL}$1`, values: [h] })).rows[0] as Row | undefined;
    jobRow = async (id, a) => (await pool.query({ name: 'floor-job', text: JOB_SQL, values: [id, a] })).rows[0] as Row | undefined;
    close = () => pool.end();
  }

  let sign: (key: string, expMs: number) => string;
  if (cfg.s3) {
    const { S3QueryPresigner } = (await import(new URL('blob/s3-presign.js', dist).href)) as typeof import('../../src/blob/s3-presign.js');
    const p = S3QueryPresigner.forOptions({ ...cfg.s3, publicEndpoint: null, forcePathStyle: true })!;
    sign = (key, expMs) => p.url(key, Math.round((expMs - Date.now()) / 1000));
  } else {
    const { UrlSigner } = (await import(new URL('blob/url-signer.js', dist).href)) as typeof import('../../src/blob/url-signer.js');
    const signer = new UrlSigner(crypto.randomBytes(32));
    sign = (key, expMs) => `http://127.0.0.1/files/${key}?exp=${Math.floor(expMs / 1000)}&sig=${signer.sign(key, expMs)}`;
  }

  app.get('/floor/jobs/:id', async (req, reply) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const hash = crypto.createHash('sha256').update(m?.[1] ?? '').digest('hex');
    const key = await keyRow(hash);
    if (!key || key.revoked_at != null || key.status !== 'active') return reply.code(401).send({ error: 'auth_invalid' });
    const job = await jobRow((req.params as { id: string }).id, key.account_id as string);
    if (!job) return reply.code(404).send({ error: 'not_found' });
    const stored = JSON.parse(job.result_json as string) as { image: { formats: Record<string, { key: string }> } };
    const exp = Date.now() + 3_600_000;
    const body = structuredClone(template);
    for (const [fmt, f] of Object.entries(stored.image.formats)) body.result.formats[fmt]!.url = sign(f.key, exp);
    log.info({ reqId: req.id, method: req.method, url: req.url, statusCode: 200 }, 'request completed');
    return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
  });
  return close;
}

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PRIVATE_FILE_MODE, mkdirPrivate } from './private-files.js';

interface SecretsFile {
  url_signing_key: string;
  /** AES-256-GCM key of the webhook signing secrets stored in the database (issue 20). */
  webhook_encryption_key: string;
}

export interface Secrets {
  urlSigningKey: Buffer;
  webhookEncryptionKey: Buffer;
}

/** The shortest EASEL_SECRETS_KEY accepted (e.g. `openssl rand -base64 32` gives 44 characters). */
export const MIN_SECRETS_KEY_LENGTH = 32;

/**
 * Secrets generated on first start live in `<data dir>/secrets.json` (mode 0600), so signed URLs
 * and the webhook secrets at rest survive restarts. EASEL_SIGNING_SECRET overrides the URL key and
 * EASEL_SECRETS_KEY the webhook encryption key (its SHA-256 is the AES key): both are needed when
 * several processes on different machines share one database and must read each other's work.
 */
export function loadSecrets(dataDir: string, env: { signingSecret: string | null; secretsKey: string | null }): Secrets {
  const file = env.signingSecret && env.secretsKey ? null : readOrCreate(dataDir);
  return {
    urlSigningKey: env.signingSecret ? Buffer.from(env.signingSecret, 'utf8') : Buffer.from(file!.url_signing_key, 'base64'),
    webhookEncryptionKey: env.secretsKey ? crypto.createHash('sha256').update(env.secretsKey, 'utf8').digest() : Buffer.from(file!.webhook_encryption_key, 'base64'),
  };
}

const fresh = (): SecretsFile => ({ url_signing_key: crypto.randomBytes(32).toString('base64'), webhook_encryption_key: crypto.randomBytes(32).toString('base64') });
const complete = (s: Partial<SecretsFile> | null): s is SecretsFile => !!s && typeof s.url_signing_key === 'string' && typeof s.webhook_encryption_key === 'string';

function readOrCreate(dataDir: string): SecretsFile {
  mkdirPrivate(dataDir);
  const file = path.join(dataDir, 'secrets.json');
  const existing = read(file);
  if (complete(existing)) return existing;
  if (!existing) {
    // Written whole under a temporary name, then linked into place: link fails if another
    // process got there first, so two processes starting at once agree on one file.
    const created = fresh();
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(created, null, 2), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    try {
      fs.linkSync(tmp, file);
      return created;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    return readOrCreate(dataDir);
  }
  // A file from before a key was added: the missing key is added once, under a lock, keeping
  // the keys it has (signed URLs already handed out stay valid).
  return withLock(`${file}.lock`, () => {
    const current = read(file) ?? {};
    if (complete(current)) return current;
    const next: SecretsFile = { ...fresh(), ...current };
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(next, null, 2), { mode: PRIVATE_FILE_MODE });
    fs.renameSync(tmp, file);
    return next;
  });
}

function read(file: string): Partial<SecretsFile> | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<SecretsFile>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Runs `fn` holding an exclusive lock file (taken over when older than 30 s: its holder died). */
function withLock<T>(lock: string, fn: () => T): T {
  for (let i = 0; ; i++) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx', PRIVATE_FILE_MODE));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 30_000) fs.rmSync(lock, { force: true });
      } catch {
        // gone in between: try again
      }
      if (i > 600) throw new Error(`could not lock ${lock} (another easel process holds it)`);
      sleepSync(50);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

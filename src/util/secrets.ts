import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

interface Secrets {
  url_signing_key: string;
}

/**
 * Secrets generated on first start live in `<data dir>/secrets.json` (mode 0600), so signed URLs
 * survive restarts. EASEL_SIGNING_SECRET overrides the file (needed when several API processes
 * on different machines must verify each other's URLs).
 */
export function loadSecrets(dataDir: string, override: string | null): { urlSigningKey: Buffer } {
  if (override) return { urlSigningKey: Buffer.from(override, 'utf8') };
  const file = path.join(dataDir, 'secrets.json');
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Secrets;
    return { urlSigningKey: Buffer.from(s.url_signing_key, 'base64') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const fresh: Secrets = { url_signing_key: crypto.randomBytes(32).toString('base64') };
  try {
    // 'wx' makes two processes starting at once agree on one secret: the loser reads the winner's.
    fs.writeFileSync(file, JSON.stringify(fresh, null, 2), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return loadSecrets(dataDir, null);
  }
  return { urlSigningKey: Buffer.from(fresh.url_signing_key, 'base64') };
}

import http from 'node:http';
import crypto from 'node:crypto';

/**
 * A loopback address of its own for a test (127.x.y.z; all of 127/8 is loopback on Linux), so
 * limits counted per client address — in Redis shared by every test server — start from zero.
 */
export function freshLoopbackAddress(): string {
  const [a, b, c] = crypto.randomBytes(3);
  return `127.${1 + (a! % 250)}.${b}.${1 + (c! % 250)}`;
}

/** One HTTP call sent from `localAddress` (the server sees it as the client's address). */
export function apiFrom(
  localAddress: string,
  base: string,
  method: string,
  path: string,
  opts: { key?: string; authorization?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }> {
  const headers: Record<string, string> = {};
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.authorization !== undefined) headers.authorization = opts.authorization;
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method, headers, localAddress, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text && (res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

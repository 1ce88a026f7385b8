import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Parsed JSON when the server said JSON and it parses; undefined otherwise. */
  json: any;
  /** Set when the body could not be sent whole because the server answered and closed first (EPIPE, ECONNRESET). */
  writeError?: string;
  /** False when the connection ended inside the answer's body: `text` is what arrived. */
  complete: boolean;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/**
 * One request over node:http with the path sent exactly as given (fetch would normalise `..`
 * and percent-encodings away) and the body sent as raw bytes (duplicate keys, invalid UTF-8).
 */
export function rawRequest(
  base: string,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawResponse> {
  const u = new URL(base);
  const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8');
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    let writeError: (Error & { code?: string }) | undefined;
    let answered = false;
    const req = http.request(
      { host: u.hostname, port: u.port, method: opts.method, path: opts.path, headers, agent },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        const answer = (complete: boolean) => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          if (String(res.headers['content-type'] ?? '').includes('json')) {
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, complete, ...(writeError ? { writeError: writeError.code ?? writeError.message } : {}) });
        };
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => answer(true));
        // The server reset the connection inside its answer: what arrived is still its answer
        // (a check on it says what is missing), not a failure to reach the server.
        res.on('error', () => answer(false));
      },
    );
    req.on('error', (err: Error & { code?: string }) => {
      // HTTP lets a server answer before it has read the whole body (a 413 decided from
      // Content-Length) and then close; the rest of our write fails with EPIPE or ECONNRESET.
      // That request did not fail if its answer arrived: keep the error beside the answer.
      // Only an error before any answer is a failed request.
      if (answered) {
        writeError ??= err;
        return;
      }
      reject(err);
    });
    if (body) req.write(body);
    req.end();
  });
}

/** Percent-encodes what node:http refuses in a request path, leaving intended escapes (`%2e`, `%zz`) alone. */
export function safePath(p: string): string {
  let out = '';
  for (const ch of p) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x21 && cp <= 0x7e && ch !== '#' && ch !== '?') out += ch;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '%ED%A0%80'; // a lone surrogate: CESU-8 bytes, invalid UTF-8
    else out += encodeURIComponent(ch);
  }
  return out;
}

export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

/** A multipart/form-data body from parts (for upload endpoints). */
export function multipart(parts: Part[], boundary = `easel${Math.random().toString(16).slice(2)}`): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

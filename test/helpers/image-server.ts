import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for "somewhere on the internet" that serves client input images, on 127.0.0.1 only
 * (the Easel server under test runs with EASEL_ALLOW_LOOPBACK_URLS=true). Records every path asked for.
 */
export class ImageServer {
  readonly hits: string[] = [];
  baseUrl = '';
  private readonly files = new Map<string, { bytes: Buffer; type: string }>();
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<ImageServer> {
    const server = http.createServer();
    const s = new ImageServer(server);
    server.on('request', (req, res) => {
      const p = (req.url ?? '/').split('?')[0]!;
      s.hits.push(p);
      const f = s.files.get(p);
      if (!f) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': f.type, 'content-length': String(f.bytes.length) }).end(f.bytes);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    s.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return s;
  }

  /** Serves `bytes` at `path` and returns its URL. */
  serve(path: string, bytes: Buffer, type: string): string {
    this.files.set(path, { bytes, type });
    return this.baseUrl + path;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

/** Test pictures, drawn with sharp so each check knows exactly which pixel should be where. */

/** 200 × 100: red top-left, green top-right, blue bottom-left, yellow bottom-right. */
export async function quadrants(format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">
    <rect x="0" y="0" width="100" height="50" fill="#ff0000"/><rect x="100" y="0" width="100" height="50" fill="#00ff00"/>
    <rect x="0" y="50" width="100" height="50" fill="#0000ff"/><rect x="100" y="50" width="100" height="50" fill="#ffff00"/></svg>`;
  return sharp(Buffer.from(svg))[format]().toBuffer();
}

/** A coloured circle on a plain background: what background removal is for. */
export async function circleOnPlain(format: 'png' | 'webp' | 'jpeg' = 'png', size = 240): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">
    <rect width="${size}" height="${size}" fill="#e8eef4"/><circle cx="${size / 2}" cy="${size / 2}" r="${size * 0.3}" fill="#c0392b"/></svg>`;
  return sharp(Buffer.from(svg))[format]().toBuffer();
}

/** A red rectangle inside a white margin: trim should find the rectangle. */
export async function framed(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="80"><rect width="100" height="80" fill="#fff"/><rect x="20" y="10" width="30" height="40" fill="#f00"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Deterministic colour noise: a photo-like image with no plain background and poor compressibility. */
export async function noise(width: number, height: number, format: 'png' | 'jpeg' = 'png', seed = 1): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  let s = seed >>> 0;
  for (let i = 0; i < px.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    px[i] = ((i % 3) * 60 + (s >>> 24)) & 0xff;
  }
  return sharp(px, { raw: { width, height, channels: 3 } })[format]().toBuffer();
}

/** A smooth gradient with mild noise: compresses like a photograph, so quality changes file size. */
export async function photoLike(width = 320, height = 240): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  let s = 7;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const n = (s >>> 28) - 8;
      px[i] = Math.max(0, Math.min(255, (x * 255) / width + n));
      px[i + 1] = Math.max(0, Math.min(255, (y * 255) / height + n));
      px[i + 2] = Math.max(0, Math.min(255, 128 + 60 * Math.sin(x / 17) + n));
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** The same image with a caption in its XMP (dc:description), as cameras and editors write it. */
export async function withCaption(image: Buffer, caption: string): Promise<Buffer> {
  const xmp = `<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">${caption}</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;
  const meta = await sharp(image).metadata();
  return sharp(image).withXmp(xmp).toFormat(meta.format as 'png').toBuffer();
}

/** RGBA of one pixel. */
export async function pixel(image: Buffer, x: number, y: number): Promise<[number, number, number, number]> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const o = (y * info.width + x) * 4;
  return [data[o]!, data[o + 1]!, data[o + 2]!, data[o + 3]!];
}

/** True when every channel is within `tol` of the expected colour. */
export function near(actual: readonly number[], expected: readonly number[], tol = 12): boolean {
  return expected.every((v, i) => Math.abs(actual[i]! - v) <= tol);
}

/**
 * A plain HTTP server on 127.0.0.1 serving fixed files: the "external" image host of the tests
 * (the Easel server under test runs with EASEL_ALLOW_LOOPBACK_URLS=true to reach it).
 */
export async function serveImages(files: Record<string, Buffer>): Promise<{ url: (name: string) => string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const body = files[(req.url ?? '/').slice(1)];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

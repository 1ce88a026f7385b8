import fs from 'node:fs';
import { createRequire } from 'node:module';
import { initSync, WasmBuilder, WasmReader } from '@contentauth/c2pa-wasm';

/**
 * Loads the c2pa-rs WebAssembly build once per process and makes it usable on Node 20.
 *
 * `WasmBuilder.sign()` reads its source asset through the browser-only `FileReaderSync` API
 * (`WasmReader.fromBytes` needs nothing). Node has `Blob` but no `FileReaderSync`, so we hand the
 * builder a Blob subclass that keeps its backing Buffer, and a `FileReaderSync` that returns
 * that buffer's bytes synchronously. The polyfill is installed only if the global is missing.
 */
export class BufferBlob extends Blob {
  constructor(readonly buffer: Buffer) {
    super([buffer as Uint8Array<ArrayBuffer>]);
  }

  override slice(start = 0, end = this.buffer.length): BufferBlob {
    const len = this.buffer.length;
    const a = start < 0 ? Math.max(len + start, 0) : Math.min(start, len);
    const b = end < 0 ? Math.max(len + end, 0) : Math.min(end, len);
    return new BufferBlob(this.buffer.subarray(a, Math.max(a, b)));
  }
}

class BufferFileReaderSync {
  readAsArrayBuffer(blob: Blob): ArrayBuffer {
    if (!(blob instanceof BufferBlob)) throw new TypeError('FileReaderSync polyfill: only BufferBlob is supported');
    const u = blob.buffer;
    return u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
  }
}

let loaded = false;

export function c2paWasm(): { WasmBuilder: typeof WasmBuilder; WasmReader: typeof WasmReader } {
  if (!loaded) {
    const g = globalThis as { FileReaderSync?: unknown };
    g.FileReaderSync ??= BufferFileReaderSync;
    const require = createRequire(import.meta.url);
    initSync({ module: fs.readFileSync(require.resolve('@contentauth/c2pa-wasm/c2pa.wasm')) });
    loaded = true;
  }
  return { WasmBuilder, WasmReader };
}

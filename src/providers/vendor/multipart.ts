import { FormData, Response } from 'undici';

export type MultipartField =
  | { name: string; value: string }
  | { name: string; file: Buffer; filename: string; contentType: string };

/**
 * A multipart/form-data body, serialised once into a Buffer (with undici's FormData) so that
 * vendorFetch can resend the identical bytes on a retry. Pass `contentType` as the request's
 * Content-Type header: it carries the boundary.
 */
export async function multipartBody(fields: MultipartField[]): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  for (const f of fields) {
    if ('file' in f) form.append(f.name, new Blob([new Uint8Array(f.file)], { type: f.contentType }), f.filename);
    else form.append(f.name, f.value);
  }
  const res = new Response(form);
  const contentType = res.headers.get('content-type');
  if (!contentType?.startsWith('multipart/form-data')) throw new Error('multipart serialisation produced no boundary');
  return { body: Buffer.from(await res.arrayBuffer()), contentType };
}

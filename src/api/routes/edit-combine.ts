import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { Type } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { CreateHeaders } from '../../contract/create-headers.js';
import { combineFormFields, combineJsonBody, combineMultipartDoc, editFormFields, editJsonBody, editMultipartDoc, type EditKind } from '../../contract/content.js';
import { validatorCompiler } from '../validation.js';
import { jsonObjectBody, jsonOrMultipartCompiler } from '../json-or-multipart.js';
import { toEaselError } from '../error-handler.js';
import { EaselError, badRequest, validationFailed } from '../../errors.js';
import { acceptUpload } from '../../uploads/accept.js';
import type { InputRef } from '../../pipelines/edit-combine.js';
import { submitAndWait } from './sync-job.js';
import { createContext } from '../prepare/context.js';
import { prepareEditCombine, type PreparedEditCombine } from '../prepare/edit-combine.js';

const KINDS: EditKind[] = ['image', 'graphic', 'diagram'];
/** The API-wide cap on combine inputs; a model's max_combine_inputs may be lower. */
export const MAX_COMBINE_INPUTS = 5;
const ERRORS = { 202: Type.Ref('JobAccepted'), ...errorResponses(400, 401, 402, 403, 404, 409, 413, 415, 422, 429, 451, 500, 502, 503) };

/** What the handler works from, whichever the body form. */
interface Parsed {
  body: Record<string, unknown>;
  /** Multipart: the files, in order. JSON: none (the inputs are URLs in `body`). */
  files: Buffer[] | null;
}

/**
 * POST /v1/edit/{image|graphic|diagram} and /v1/combine/{image|graphic|diagram}: synchronous,
 * same response as generate. Inputs come as JSON URLs (`image_url`, `input_image_urls`) or as
 * multipart files (`image`, repeated `images`). @fastify/multipart is registered in this
 * encapsulated scope only (the upload route has its own), so no other route parses multipart.
 */
export function editCombineRoutes(app: FastifyInstance, s: Services): void {
  app.register(async (scope) => {
    await scope.register(fastifyMultipart, {
      limits: { fileSize: s.config.maxUploadBytes, files: MAX_COMBINE_INPUTS + 1, fields: 20, fieldSize: 64 * 1024, parts: 32, headerPairs: 100 },
    });
    for (const kind of KINDS) {
      registerEdit(scope, s, kind);
      registerCombine(scope, s, kind);
    }
  });
}

function registerEdit(app: FastifyInstance, s: Services, kind: EditKind): void {
  const json = editJsonBody(kind);
  const fields = editFormFields(kind);
  const checkFields = validatorCompiler({ schema: fields, httpPart: 'body', method: 'POST', url: `/v1/edit/${kind}` }) as ValidateFn;
  app.post(
    `/v1/edit/${kind}`,
    {
      schema: {
        summary: `Edit ${kind === 'image' ? 'an image' : `a ${kind}`} by instruction (synchronous)`,
        description:
          `The prompt is the instruction applied to the input: JSON with image_url (https, or a signed URL of ours such as an upload_url or an earlier result), or multipart/form-data with the file "image" and the same fields. ` +
          `The model must support edit (422 model_not_capable otherwise, before anything is charged). Moderation, hold, settle and response as POST /v1/generate/image; ` +
          `without aspect_ratio the output follows the input's shape. The output's C2PA manifest records the input as its parent (c2pa.opened, c2pa.edited). ` +
          `Prompt template: ${kind} edit, unless raw_prompt. Job operation: edit_${kind}.`,
        tags: ['edit'],
        body: { content: { 'application/json': { schema: json }, 'multipart/form-data': { schema: editMultipartDoc(kind) } } },
        headers: CreateHeaders,
        response: { 200: Type.Ref('GenerationResponse'), ...ERRORS },
      },
      validatorCompiler: jsonOrMultipartCompiler(),
    },
    async (req, reply) => {
      const ctx = createContext(req);
      const { body, files } = req.isMultipart() ? await readForm(req, 'image', 1, checkFields) : { body: jsonObjectBody(req), files: null };
      if (files) {
        if (files.length === 0) throw badRequest('The file "image" is required: the image to edit.', { fields: [{ path: 'image', message: 'is required' }] });
        if (files.length > 1) throw validationFailed('An edit takes exactly one file, in the field "image".', { fields: [{ path: 'image', message: 'must hold exactly one file' }] });
      }
      return submitWithUploads(s, req, reply, await prepareEditCombine(s, ctx, { mode: 'edit', kind, body, files }), files);
    },
  );
}

function registerCombine(app: FastifyInstance, s: Services, kind: EditKind): void {
  const json = combineJsonBody(kind);
  const fields = combineFormFields(kind);
  const checkFields = validatorCompiler({ schema: fields, httpPart: 'body', method: 'POST', url: `/v1/combine/${kind}` }) as ValidateFn;
  app.post(
    `/v1/combine/${kind}`,
    {
      schema: {
        summary: `Combine 2–5 ${kind === 'image' ? 'images' : `${kind}s`} into one (synchronous)`,
        description:
          `The prompt describes the arrangement. Inputs: JSON input_image_urls (2–5 https URLs or signed URLs of ours), or multipart/form-data with the file field "images" repeated 2–5 times (in order) and the same fields. ` +
          `The model must support combine (422 model_not_capable) and take that many inputs (its max_combine_inputs in /v1/models; 422 naming the model and its cap), checked before anything is charged. ` +
          `Moderation, hold, settle and response as POST /v1/generate/image; without aspect_ratio the output follows the first input's shape. The inputs are C2PA ingredients of the output. ` +
          `Prompt template: ${kind} combine, unless raw_prompt. Job operation: combine_${kind}.`,
        tags: ['combine'],
        body: { content: { 'application/json': { schema: json }, 'multipart/form-data': { schema: combineMultipartDoc(kind) } } },
        headers: CreateHeaders,
        response: { 200: Type.Ref('GenerationResponse'), ...ERRORS },
      },
      validatorCompiler: jsonOrMultipartCompiler(),
    },
    async (req, reply) => {
      const ctx = createContext(req);
      const { body, files } = req.isMultipart() ? await readForm(req, 'images', MAX_COMBINE_INPUTS, checkFields) : { body: jsonObjectBody(req), files: null };
      if (files && (files.length < 2 || files.length > MAX_COMBINE_INPUTS)) {
        throw validationFailed(`images must hold 2 to ${MAX_COMBINE_INPUTS} files, got ${files.length}.`, {
          fields: [{ path: 'images', message: `must hold 2 to ${MAX_COMBINE_INPUTS} files` }],
        });
      }
      return submitWithUploads(s, req, reply, await prepareEditCombine(s, ctx, { mode: 'combine', kind, body, files }), files);
    },
  );
}

type ValidateFn = ((data: unknown) => boolean) & { errors?: unknown[] | null };

/**
 * Reads a multipart body: the files of `fileField` (at most `maxFiles`; one more is still read
 * so "too many" can be told apart from a broken body), and the other fields as text, converted
 * to the JSON types (booleans, the integer seed, reference_images as JSON) and validated against
 * the same schema as the JSON form.
 */
async function readForm(req: FastifyRequest, fileField: string, maxFiles: number, check: ValidateFn): Promise<Parsed> {
  const files: Buffer[] = [];
  const fields: Record<string, unknown> = {};
  try {
    for await (const part of req.parts({ limits: { files: maxFiles + 1 } })) {
      if (part.type === 'file') {
        if (part.fieldname !== fileField) {
          part.file.resume();
          throw badRequest(`"${part.fieldname}" is not a known file field; send the ${maxFiles === 1 ? 'image' : 'images'} in "${fileField}".`, {
            fields: [{ path: part.fieldname, message: 'is not a known field' }],
          });
        }
        files.push(await part.toBuffer());
      } else {
        const v = fromFormValue(part.fieldname, String(part.value));
        if (part.fieldname in fields) throw badRequest(`The field "${part.fieldname}" was sent twice.`, { fields: [{ path: part.fieldname, message: 'must be sent once' }] });
        fields[part.fieldname] = v;
      }
    }
  } catch (e) {
    if (e instanceof EaselError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') {
      throw new EaselError(413, 'payload_too_large', `An input file is larger than the upload limit.`, { field: fileField });
    }
    if (code === 'FST_FILES_LIMIT') {
      throw validationFailed(`${fileField} takes at most ${maxFiles} file${maxFiles === 1 ? '' : 's'}.`, { fields: [{ path: fileField, message: `must hold at most ${maxFiles} files` }] });
    }
    if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') throw badRequest('The multipart body has too many parts.');
    throw badRequest('The multipart body is malformed or was cut short.');
  }
  if (!check(fields)) throw toEaselError(Object.assign(new Error('invalid form'), { validation: check.errors ?? [], validationContext: 'body' }) as never);
  return { body: fields, files };
}

/** Form fields are text: the few non-string fields are converted; anything unconvertible is left for the schema to refuse. */
function fromFormValue(name: string, v: string): unknown {
  if (name === 'raw_prompt' || name === 'transparent_background') return v === 'true' ? true : v === 'false' ? false : v;
  if (name === 'seed') return /^\d{1,10}$/.test(v) ? Number(v) : v;
  if (name === 'retention_days') return /^\d{1,4}$/.test(v) ? Number(v) : v;
  if (name === 'metadata') {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }
  if (name === 'reference_images' || name === 'webhook_events') {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }
  return v;
}

/**
 * After every check (src/api/prepare/edit-combine.ts): multipart files go through the upload
 * checks (format, size in pixels, moderation) and into storage, become the request's inputs, and
 * the synchronous job is submitted; stored files are dropped again if it is not accepted.
 */
async function submitWithUploads(s: Services, req: FastifyRequest, reply: Parameters<typeof submitAndWait>[2], input: PreparedEditCombine, files: Buffer[] | null) {
  const stored: string[] = [];
  const inputs: InputRef[] = [];
  if (files) {
    for (const [i, bytes] of files.entries()) {
      const field = input.request.mode === 'edit' ? 'image' : `images[${i}]`;
      try {
        const up = await acceptUpload({ blob: s.blob, moderator: s.moderator }, input.accountId, bytes, input.request.strictness);
        stored.push(up.key);
        inputs.push({ field, blob_key: up.key });
      } catch (e) {
        await Promise.all(stored.map((k) => s.blob.delete(k).catch(() => undefined)));
        throw asInputError(e, field);
      }
    }
  }
  const request = files ? { ...input.request, inputs } : input.request;
  return submitAndWait(s, req, reply, { ...input, request }, async () => {
    await Promise.all(stored.map((k) => s.blob.delete(k)));
  });
}

/**
 * Upload errors name the input: the field path becomes `image` / `images[i]`. An input refused by
 * moderation is 403 like any generation input (451 stays for refusals on legal grounds).
 */
function asInputError(e: unknown, field: string): unknown {
  if (!(e instanceof EaselError)) return e;
  const details = { ...(e.details ?? {}) } as Record<string, unknown>;
  if (Array.isArray(details.fields)) details.fields = (details.fields as { path: string; message: string }[]).map((f) => ({ ...f, path: field }));
  if ('field' in details) details.field = field;
  if (e.code === 'content_rejected' && e.status === 451 && details.legal !== true) {
    return new EaselError(403, 'content_rejected', `${field} was rejected by content moderation (${String(details.category ?? 'policy')}). Nothing was charged.`, details);
  }
  return new EaselError(e.status, e.code, `${field}: ${e.message}`, details, e.headers);
}

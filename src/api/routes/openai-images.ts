import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import sharp from 'sharp';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import {
  OpenAIErrorBody,
  OpenAIImageEditFields,
  OpenAIImageEditForm,
  OpenAIImageGenerationBody,
  OpenAIImagesResponse,
  openAIErrorResponses,
} from '../../contract/openai-images.js';
import { EaselError, badRequest } from '../../errors.js';
import { requireAuth } from '../auth.js';
import type { CreateContext, PreparedSubmit } from '../prepare/context.js';
import { prepareGeneration } from '../prepare/generation.js';
import { prepareEditCombine } from '../prepare/edit-combine.js';
import { mapOpenAISize, resolveOpenAIModel } from '../prepare/openai-images.js';
import { awaitJobResult } from '../sync-job.js';
import { validatorCompiler } from '../validation.js';
import { toEaselError } from '../error-handler.js';
import { acceptUpload } from '../../uploads/accept.js';
import { balanceOf } from '../../billing/ledger.js';
import { creditInsufficient } from '../../billing/credit-insufficient.js';
import { defaultSeed } from '../../pipelines/image.js';
import type { PixelSize } from '../../pipelines/fit-size.js';
import type { StoredImageResult } from '../../jobs/types.js';
import { eurToMicros, microsToEur } from '../../util/money.js';

/** The validator drops a null optional field (src/api/null-is-absent.ts): handlers see it absent. */
type NullIsAbsent<T> = { [K in keyof T]: Exclude<T[K], null> };
type GenerationBody = NullIsAbsent<Static<typeof OpenAIImageGenerationBody>>;
type EditFields = NullIsAbsent<Static<typeof OpenAIImageEditFields>>;
type Format = 'png' | 'jpeg' | 'webp';

const ERRORS = openAIErrorResponses(400, 401, 403, 404, 409, 413, 429, 500, 502, 503);
const CONFIG = { errorShape: 'openai' as const };

/**
 * OpenAI's Images API (`POST /v1/images/generations`, `POST /v1/images/edits`), in its wire
 * format and error shape, over Easel's own checks and jobs: the request is mapped onto an Easel
 * image (or edit) request and prepared exactly as POST /v1/generate/image (or /v1/edit/image)
 * prepares it; each of the `n` images is then one Easel job (held, charged and listed on its own),
 * and the request waits for all of them. See docs/DECISIONS.md ("OpenAI-compatible images").
 */
export function openAIImageRoutes(app: FastifyInstance, s: Services): void {
  app.addSchema(OpenAIImagesResponse);
  app.addSchema(OpenAIErrorBody);
  app.post(
    '/v1/images/generations',
    {
      config: CONFIG,
      schema: {
        summary: 'OpenAI-compatible: generate images (synchronous)',
        description:
          'OpenAI Images wire format. Each of the n images is one Easel job (GET /v1/jobs), moderated, held and charged like POST /v1/generate/image; the request waits for all of them. ' +
          'Errors come in OpenAI\u2019s shape {error: {message, type, param, code}}: 401 invalid_api_key, 400 content_policy_violation (moderation), 429 insufficient_quota (the balance does not cover n images; nothing is charged) and 429 rate_limit_exceeded. ' +
          'The job ids are in X-Easel-Job-Id (comma-separated) and in the body\u2019s easel.job_ids.',
        tags: ['openai'],
        body: OpenAIImageGenerationBody,
        response: { 200: Type.Ref('OpenAIImagesResponse'), ...ERRORS },
      },
    },
    async (req, reply) => generations(s, req, reply, req.body as GenerationBody),
  );

  app.register(async (scope) => {
    await scope.register(fastifyMultipart, {
      limits: { fileSize: s.config.maxUploadBytes, files: 3, fields: 20, fieldSize: 64 * 1024, parts: 32, headerPairs: 100 },
    });
    const checkFields = validatorCompiler({ schema: OpenAIImageEditFields, httpPart: 'body', method: 'POST', url: '/v1/images/edits' }) as ValidateFn;
    scope.post(
      '/v1/images/edits',
      {
        config: CONFIG,
        schema: {
          summary: 'OpenAI-compatible: edit an image (synchronous, multipart)',
          description:
            'OpenAI Images edit, as multipart/form-data: the file image, an optional mask (PNG with alpha: its fully transparent pixels may change, the rest of the input is kept), prompt and the generation fields. ' +
            'Each of the n images is one Easel edit_image job (edit_graphic with background transparent), checked, held and charged like POST /v1/edit/image. Errors and headers as POST /v1/images/generations.',
          tags: ['openai'],
          body: { content: { 'multipart/form-data': { schema: OpenAIImageEditForm } } },
          response: { 200: Type.Ref('OpenAIImagesResponse'), ...ERRORS },
        },
        // The multipart form is read and validated by the handler (the schema documents it).
        validatorCompiler: () => () => true,
      },
      async (req, reply) => edits(s, req, reply, checkFields),
    );
  });
}

type ValidateFn = ((data: unknown) => boolean) & { errors?: unknown[] | null };

/** These routes take no Idempotency-Key: one request is n jobs, and OpenAI clients send none. */
function openAIContext(req: FastifyRequest): CreateContext {
  return { auth: requireAuth(req), idempotency: () => null };
}

function refuseStream(stream: boolean | undefined): void {
  if (stream) throw badRequest('Streaming is not offered: leave stream unset or false.', { fields: [{ path: 'stream', message: 'must be false' }] });
}

function transparentFormat(transparent: boolean, format: Format): void {
  if (transparent && format === 'jpeg') {
    throw badRequest('background transparent needs output_format png or webp.', { fields: [{ path: 'output_format', message: 'must be png or webp with a transparent background' }] });
  }
}

interface Answer {
  format: Format;
  responseFormat: 'url' | 'b64_json';
  size: string;
  quality: string | undefined;
  transparent: boolean;
  model: string;
}

/** n copies of a prepared job; with n > 1 each gets its own seed, so the images differ (the first is the n = 1 image). */
function nJobs(prepared: PreparedSubmit, n: number, prompt: string, pixel: PixelSize | undefined, user: string | undefined, extra: Record<string, unknown> = {}): PreparedSubmit[] {
  const base = prepared.request as Record<string, unknown>;
  const options = user ? { ...prepared.options, metadata: { ...(prepared.options?.metadata ?? {}), openai_user: user } } : prepared.options;
  const seed0 = typeof base.seed === 'number' ? base.seed : defaultSeed(prompt);
  return Array.from({ length: n }, (_, i) => ({
    ...prepared,
    ...(options ? { options } : {}),
    request: { ...base, ...extra, ...(pixel ? { pixel_size: pixel } : {}), ...(n > 1 ? { seed: (seed0 + i) & 0x7fffffff } : {}) },
  }));
}

async function generations(s: Services, req: FastifyRequest, reply: FastifyReply, body: GenerationBody) {
  const ctx = openAIContext(req);
  refuseStream(body.stream);
  const transparent = body.background === 'transparent';
  const format = body.output_format ?? 'png';
  transparentFormat(transparent, format);
  const operation = transparent ? 'graphic' : 'image';
  const model = resolveOpenAIModel(s.catalogue, body.model, operation);
  const size = mapOpenAISize(model, body.size, 'generate');
  const prepared = await prepareGeneration(
    s,
    ctx,
    { prompt: body.prompt, model: model.id, aspect_ratio: size.aspect_ratio ?? '1:1', image_size: size.image_size, ...(transparent ? { transparent_background: true } : {}) },
    operation,
  );
  const jobs = nJobs(prepared, body.n ?? 1, body.prompt, size.pixel_size, body.user);
  return runJobs(s, req, reply, jobs, { format, responseFormat: body.response_format ?? 'url', size: size.label, quality: body.quality, transparent, model: model.id });
}

async function edits(s: Services, req: FastifyRequest, reply: FastifyReply, check: ValidateFn) {
  const ctx = openAIContext(req);
  if (!req.isMultipart()) throw badRequest('Send the edit as multipart/form-data with the file "image" and the field "prompt".');
  const form = await readEditForm(req, check);
  refuseStream(form.fields.stream);
  const f = form.fields;
  const transparent = f.background === 'transparent';
  const format = f.output_format ?? 'png';
  transparentFormat(transparent, format);
  const kind = transparent ? 'graphic' : 'image';
  const model = resolveOpenAIModel(s.catalogue, f.model, `edit_${kind}`);
  const size = mapOpenAISize(model, f.size, 'edit');
  if (form.mask && !(await sharp(form.mask).metadata().then((m) => m.hasAlpha, () => false))) {
    throw badRequest('mask must be an image with an alpha channel (a PNG whose transparent pixels mark where to edit).', { fields: [{ path: 'mask', message: 'must have an alpha channel' }] });
  }
  const body: Record<string, unknown> = {
    prompt: f.prompt,
    model: model.id,
    image_size: size.image_size,
    ...(size.aspect_ratio ? { aspect_ratio: size.aspect_ratio } : {}),
    ...(transparent ? { transparent_background: true } : {}),
  };
  const prepared = await prepareEditCombine(s, ctx, { mode: 'edit', kind, body, files: [form.image] });
  // After every check: the files go through the upload checks (format, pixels, moderation) into storage.
  const stored: string[] = [];
  const drop = async () => {
    await Promise.all(stored.map((k) => s.blob.delete(k).catch(() => undefined)));
  };
  const store = async (bytes: Buffer, field: string) => {
    try {
      const up = await acceptUpload({ blob: s.blob, moderator: s.moderator }, prepared.accountId, bytes, prepared.request.strictness);
      stored.push(up.key);
      return up.key;
    } catch (e) {
      await drop();
      if (e instanceof EaselError) throw new EaselError(e.status === 451 ? 403 : e.status, e.code, `${field}: ${e.message}`, { ...(e.details ?? {}), field }, e.headers);
      throw e;
    }
  };
  const imageKey = await store(form.image, 'image');
  const maskKey = form.mask ? await store(form.mask, 'mask') : null;
  const extra = { inputs: [{ field: 'image', blob_key: imageKey }], ...(maskKey ? { mask: { blob_key: maskKey } } : {}) };
  const jobs = nJobs(prepared, f.n ?? 1, f.prompt, size.pixel_size, f.user, extra);
  return runJobs(s, req, reply, jobs, { format, responseFormat: f.response_format ?? 'url', size: size.label, quality: f.quality, transparent, model: model.id }, drop);
}

/**
 * Submits the jobs (402 — here 429 insufficient_quota — before any of them when the balance
 * cannot cover all n), waits for every one, and answers in OpenAI's shape. A job that fails
 * answers its error; the others carry on as the jobs they are.
 */
async function runJobs(s: Services, req: FastifyRequest, reply: FastifyReply, jobs: PreparedSubmit[], a: Answer, onRefused?: () => Promise<void>) {
  const first = jobs[0]!;
  const total = jobs.reduce((sum, j) => sum + j.holdMicros, 0);
  const ids: string[] = [];
  try {
    const { available } = await balanceOf(s.db, first.accountId);
    if (available < total) throw creditInsufficient(available, total, 'request');
    for (const job of jobs) ids.push((await s.jobs.submit({ ...job, requestId: req.id })).id);
  } catch (e) {
    if (ids.length === 0) await onRefused?.().catch(() => undefined);
    if (ids.length > 0) reply.header('x-easel-job-id', ids.join(','));
    throw e;
  }
  reply.header('x-easel-job-id', ids.join(','));
  req.log.info({ job_ids: ids, operation: first.operation }, 'openai images: jobs accepted');
  const results = await Promise.all(ids.map((id) => awaitJobResult(s, id, 'image job', ['prompt', 'image', 'mask'])));
  const data = await Promise.all(
    ids.map(async (id, i) => {
      if (a.responseFormat === 'url') return { url: (results[i] as { formats: Record<Format, { url: string }> }).formats[a.format].url };
      return { b64_json: (await imageBytes(s, id, a.format)).toString('base64') };
    }),
  );
  const cost = results.reduce((sum, r) => sum + eurToMicros(String(r.cost_eur)), 0);
  const balance = Math.min(...results.map((r) => eurToMicros(String(r.balance_eur))));
  return {
    created: Math.floor(Date.now() / 1000),
    data,
    background: a.transparent ? 'transparent' : 'opaque',
    output_format: a.format,
    size: a.size,
    ...(a.quality ? { quality: a.quality } : {}),
    easel: { job_ids: ids, model: a.model, cost_eur: microsToEur(cost), balance_eur: microsToEur(balance) },
  };
}

async function imageBytes(s: Services, jobId: string, format: Format): Promise<Buffer> {
  const row = await s.jobs.get(jobId);
  const result = row?.result_json ? (JSON.parse(row.result_json) as StoredImageResult) : null;
  const key = result?.image?.formats?.[format]?.key;
  const bytes = key ? await s.blob.get(key) : null;
  if (!bytes) throw new EaselError(500, 'internal_error', `The image of job ${jobId} could not be read.`, { job_id: jobId });
  return bytes;
}

/** The edit form: the file `image` (or `image[]`, one file), an optional `mask`, and the text fields, validated. */
async function readEditForm(req: FastifyRequest, check: ValidateFn): Promise<{ image: Buffer; mask: Buffer | null; fields: EditFields }> {
  const images: Buffer[] = [];
  let mask: Buffer | null = null;
  const fields: Record<string, unknown> = {};
  try {
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (part.fieldname === 'image' || part.fieldname === 'image[]') images.push(await part.toBuffer());
        else if (part.fieldname === 'mask' && mask === null) mask = await part.toBuffer();
        else {
          part.file.resume();
          throw badRequest(`"${part.fieldname}" is not a file field of this route; send "image" and optionally "mask".`, { fields: [{ path: part.fieldname, message: 'is not a known field' }] });
        }
      } else {
        if (part.fieldname in fields) throw badRequest(`The field "${part.fieldname}" was sent twice.`, { fields: [{ path: part.fieldname, message: 'must be sent once' }] });
        fields[part.fieldname] = fromFormValue(part.fieldname, String(part.value));
      }
    }
  } catch (e) {
    if (e instanceof EaselError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw new EaselError(413, 'payload_too_large', 'An input file is larger than the upload limit.');
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') throw badRequest('The multipart body has too many parts.');
    throw badRequest('The multipart body is malformed or was cut short.');
  }
  if (images.length !== 1) {
    throw badRequest(images.length === 0 ? 'The file "image" is required: the image to edit.' : 'Easel edits one image per request: send one file in "image".', {
      fields: [{ path: 'image', message: images.length === 0 ? 'is required' : 'must hold exactly one file' }],
    });
  }
  if (!check(fields)) throw toEaselError(Object.assign(new Error('invalid form'), { validation: check.errors ?? [], validationContext: 'body' }) as never);
  return { image: images[0]!, mask, fields: fields as EditFields };
}

/** Form fields are text: the integers and the boolean are converted; anything else is left for the schema to refuse. */
function fromFormValue(name: string, v: string): unknown {
  if (name === 'n' || name === 'output_compression' || name === 'partial_images') return /^\d{1,3}$/.test(v) ? Number(v) : v;
  if (name === 'stream') return v === 'true' ? true : v === 'false' ? false : v;
  return v;
}


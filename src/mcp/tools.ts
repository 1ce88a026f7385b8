import sharp from 'sharp';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Easel, EaselApiError, EaselError, EaselJobFailedError, SDK_VERSION, type Job } from '../sdk/index.js';
import { StoryBody } from '../contract/story.js';
import { ASPECT_RATIOS, IMAGE_SIZES } from '../contract/dimensions.js';

/**
 * Easel's MCP tools, over the SDK (`easel/sdk`): every tool is one or two calls of the public API
 * with the caller's key, so an agent gets exactly what any client gets — moderation, charges, the
 * ledger, jobs in GET /v1/jobs. The same server runs over stdio (`easel mcp`, src/cli/user/mcp.ts)
 * and over Streamable HTTP at /mcp (src/api/routes/mcp.ts, which points the SDK at its own
 * listener over loopback).
 */

export interface McpOptions {
  /** How a signed file URL is fetched for a preview (the /mcp route reaches its own files over loopback). */
  fileUrl?: (url: string) => string;
  /** Previews per answer (an image's PNG scaled into a box of PREVIEW_PX, as WebP). Default 4. */
  maxPreviews?: number;
}

const PREVIEW_PX = 256;

type Json = Record<string, unknown>;

const str = (description: string, extra: Json = {}) => ({ type: 'string', description, ...extra });
const imageFields = {
  model: str('A model id or alias from list_models; absent: the server picks its default.'),
  aspect_ratio: str('Aspect ratio.', { enum: [...ASPECT_RATIOS] }),
  image_size: str('Long side: 1K = 1024 px, 2K, 4K (if the model offers it).', { enum: [...IMAGE_SIZES] }),
  seed: { type: 'integer', minimum: 0, maximum: 2147483647, description: 'Same prompt and seed give the same image.' },
};
const jobId = { job_id: str('The job id (a UUID).', { format: 'uuid' }) };

/** The tools, as tools/list shows them (input schemas are JSON Schema). */
export const TOOLS = [
  {
    name: 'generate_image',
    description: 'Generate one image from a prompt and wait for it (a few seconds). Charged to the key\u2019s balance. Returns a small WebP preview and signed URLs (png, jpeg, webp) with the job id and cost.',
    inputSchema: { type: 'object', properties: { prompt: str('What to draw.', { minLength: 1, maxLength: 4000 }), ...imageFields }, required: ['prompt'], additionalProperties: false },
  },
  {
    name: 'edit_image',
    description: 'Edit an image by instruction and wait for it. The input is image_url (https, or a signed URL from an earlier result) or image_base64 (PNG, JPEG or WebP bytes, uploaded first). Returns a preview and signed URLs.',
    inputSchema: {
      type: 'object',
      properties: {
        prompt: str('The instruction, e.g. "make it black and white".', { minLength: 1, maxLength: 4000 }),
        image_url: str('The image to edit, by URL.'),
        image_base64: str('The image to edit, as base64 bytes.'),
        ...imageFields,
      },
      required: ['prompt'],
      additionalProperties: false,
    },
  },
  {
    name: 'generate_story',
    description:
      'Start an illustrated story (characters, optional locations, scenes). Returns the job id at once; the story runs as a job: follow it with wait_for_job (progress per scene) or get_job. Charged per scene as it is drawn.',
    inputSchema: StoryBody as unknown as Json,
  },
  {
    name: 'get_job',
    description: 'A job as GET /v1/jobs/{id} shows it: status, progress, cost, and when completed its result with signed URLs.',
    inputSchema: { type: 'object', properties: jobId, required: ['job_id'], additionalProperties: false },
  },
  {
    name: 'wait_for_job',
    description: 'Wait until a job is completed or failed, sending MCP progress notifications from the job\u2019s events (scenes done of scenes total). Returns the job, with previews of its images.',
    inputSchema: {
      type: 'object',
      properties: { ...jobId, timeout_s: { type: 'integer', minimum: 1, maximum: 3600, description: 'Give up after this long (default 600).' } },
      required: ['job_id'],
      additionalProperties: false,
    },
  },
  {
    name: 'list_models',
    description: 'The models this server offers: id, aliases, operations, aspect ratios, sizes and approximate price in EUR.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
  },
  {
    name: 'get_balance',
    description: 'The key\u2019s account balance and the amount held for running jobs, in EUR.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
  },
] as const;

export type ToolName = (typeof TOOLS)[number]['name'];

interface ToolContext {
  /** Sends an MCP progress notification when the caller asked for progress (a progressToken). */
  progress(progress: number, total: number | undefined, message: string): Promise<void>;
  signal: AbortSignal;
}

const text = (value: unknown) => ({ type: 'text' as const, text: JSON.stringify(value, null, 2) });

/** A failed call as an MCP tool error: Easel's code, message, status and request id, so an agent can act on it. */
export function toolError(e: unknown): CallToolResult {
  let body: Json;
  if (e instanceof EaselApiError) body = { error: e.code, message: e.message, status: e.status, request_id: e.requestId, ...(e.details ? { details: e.details } : {}) };
  else if (e instanceof EaselJobFailedError) body = { error: e.code, message: e.message, job_id: e.job.job_id, status: e.job.status };
  else if (e instanceof EaselError) body = { error: e.code, message: e.message };
  else body = { error: 'internal_error', message: (e as Error)?.message ?? String(e) };
  return { isError: true, content: [text(body)] };
}

/** Every signed PNG URL of a result (an image's formats.png, each story scene's images.png), in order. */
export function pngUrlsOf(result: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (!v || typeof v !== 'object' || depth > 8) return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1));
    for (const [k, x] of Object.entries(v as Json)) {
      if (k === 'png' && typeof x === 'string') out.push(x);
      else if (k === 'png' && x && typeof x === 'object' && typeof (x as Json).url === 'string') out.push((x as Json).url as string);
      else walk(x, depth + 1);
    }
  };
  walk(result, 0);
  return [...new Set(out)];
}

export class EaselTools {
  constructor(
    private readonly easel: Easel,
    private readonly opts: McpOptions = {},
  ) {}

  private async previews(result: unknown): Promise<{ type: 'image'; data: string; mimeType: string }[]> {
    const urls = pngUrlsOf(result).slice(0, this.opts.maxPreviews ?? 4);
    return Promise.all(
      urls.map(async (url) => {
        const { bytes } = await this.easel.downloadBytes(this.opts.fileUrl ? this.opts.fileUrl(url) : url);
        const webp = await sharp(bytes).resize(PREVIEW_PX, PREVIEW_PX, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 70 }).toBuffer();
        return { type: 'image' as const, data: webp.toString('base64'), mimeType: 'image/webp' };
      }),
    );
  }

  private async image(r: { id: string; formats: Record<string, { url: string; expires_at: string }>; cost_eur: string; balance_eur: string; model?: string }): Promise<CallToolResult> {
    const summary = {
      job_id: r.id,
      model: r.model,
      urls: Object.fromEntries(Object.entries(r.formats).map(([f, v]) => [f, v.url])),
      urls_expire_at: r.formats.png?.expires_at,
      cost_eur: r.cost_eur,
      balance_eur: r.balance_eur,
    };
    return { content: [...(await this.previews(r)), text(summary)], structuredContent: summary };
  }

  private async job(job: Job): Promise<CallToolResult> {
    return { content: [...(job.status === 'completed' ? await this.previews(job.result) : []), text(job)] };
  }

  async call(name: string, args: Json, ctx: ToolContext): Promise<CallToolResult> {
    try {
      return await this.run(name, args, ctx);
    } catch (e) {
      return toolError(e);
    }
  }

  private async run(name: string, a: Json, ctx: ToolContext): Promise<CallToolResult> {
    const o = { signal: ctx.signal };
    const pick = (...keys: string[]) => Object.fromEntries(keys.filter((k) => a[k] !== undefined && a[k] !== null).map((k) => [k, a[k]]));
    switch (name as ToolName) {
      case 'generate_image':
        return this.image(await this.easel.generateImage(pick('prompt', 'model', 'aspect_ratio', 'image_size', 'seed') as never, o));
      case 'edit_image': {
        let imageUrl = typeof a.image_url === 'string' ? a.image_url : undefined;
        if (typeof a.image_base64 === 'string') {
          if (imageUrl) throw new EaselError('bad_request', 'Give image_url or image_base64, not both.');
          imageUrl = (await this.easel.upload(Buffer.from(a.image_base64, 'base64'), {}, o)).upload_url;
        }
        if (!imageUrl) throw new EaselError('bad_request', 'edit_image needs image_url or image_base64.');
        return this.image(await this.easel.edit('image', { ...pick('prompt', 'model', 'aspect_ratio', 'image_size', 'seed'), image_url: imageUrl } as never, o));
      }
      case 'generate_story': {
        const accepted = await this.easel.generateStory(a as never, o);
        return { content: [text({ ...accepted, next: 'Call wait_for_job with this job_id to follow it (progress per scene), or get_job to look.' })], structuredContent: accepted as unknown as Json };
      }
      case 'get_job':
        return this.job(await this.easel.getJob(String(a.job_id), o));
      case 'wait_for_job': {
        const timeoutMs = (typeof a.timeout_s === 'number' ? a.timeout_s : 600) * 1000;
        let sent = Promise.resolve();
        // MCP progress only increases: one notification per scene (and the first and the last).
        let last = -1;
        const job = await this.easel
          .waitForJob(String(a.job_id), {
            signal: ctx.signal,
            timeoutMs,
            onProgress: (j) => {
              const total = j.scenes_total ?? undefined;
              const done = j.status === 'completed' ? (total ?? 1) : (j.scenes_completed ?? 0);
              if (done <= last) return;
              last = done;
              sent = sent.then(() => ctx.progress(done, total ?? undefined, `${j.status}${total ? `: ${j.scenes_completed ?? 0} of ${total}` : ''}`)).catch(() => undefined);
            },
          })
          .catch(async (e: unknown) => {
            await sent;
            throw e;
          });
        await sent;
        return this.job(job);
      }
      case 'list_models': {
        const list = await this.easel.models(o);
        const models = list.models.map((m) => ({
          id: m.id,
          name: m.name,
          aliases: m.aliases,
          operations: m.operations,
          aspect_ratios: m.aspect_ratios,
          image_sizes: m.image_sizes,
          approximate_cost_eur: m.approximate_cost_eur,
        }));
        return { content: [text({ models })], structuredContent: { models } };
      }
      case 'get_balance': {
        const p = await this.easel.profile(o);
        const balance = { balance_eur: p.user.balance_eur, held_eur: p.user.held_eur };
        return { content: [text(balance)], structuredContent: balance };
      }
      default:
        throw new EaselError('not_found', `No tool "${name}". tools/list names the tools.`);
    }
  }
}

/** An MCP server (low-level: the tools' schemas are plain JSON Schema) whose tools call Easel through `easel`. */
export function createMcpServer(easel: Easel, opts: McpOptions = {}): Server {
  const server = new Server({ name: 'easel', version: SDK_VERSION }, { capabilities: { tools: {} }, instructions: 'Easel: generate and edit images and illustrated stories. Every call is a job charged to your key\u2019s balance (get_balance).' });
  const tools = new EaselTools(easel, opts);
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS.map((t) => ({ ...t, inputSchema: t.inputSchema as { type: 'object' } })) }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const token = req.params._meta?.progressToken;
    return tools.call(req.params.name, (req.params.arguments ?? {}) as Json, {
      signal: extra.signal,
      progress: async (progress, total, message) => {
        if (token === undefined) return;
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, ...(total !== undefined ? { total } : {}), message } });
      },
    });
  });
  return server;
}

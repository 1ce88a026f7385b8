/**
 * ComfyUI workflows in "API format" (what `POST /prompt` takes, and what ComfyUI's
 * "Save (API Format)" exports): an object of node id → `{class_type, inputs}`, where an input is a
 * literal or a link `[source_node_id, output_index]`.
 *
 * Two sources:
 *   - built-in graphs (txt2img and img2img) for a checkpoint name;
 *   - an operator's template file (EASEL_COMFYUI_WORKFLOW) with placeholders. Substitution works on
 *     the PARSED JSON tree, never on the text: a value replaces a whole string (typed: numbers stay
 *     numbers) or is spliced into a string, and the result is serialised with JSON.stringify. A
 *     prompt full of quotes, backslashes or `}}` cannot change the graph's structure, and a
 *     substituted value is never scanned for placeholders again.
 */
import fs from 'node:fs';

export interface WorkflowNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title?: string };
}
export type Workflow = Record<string, WorkflowNode>;

export interface SamplerSettings {
  steps: number;
  cfg: number;
  samplerName: string;
  scheduler: string;
}

export const DEFAULT_SAMPLER: SamplerSettings = { steps: 20, cfg: 7, samplerName: 'euler', scheduler: 'normal' };

export interface Txt2ImgParams {
  checkpoint: string;
  prompt: string;
  negativePrompt: string;
  seed: number;
  width: number;
  height: number;
  sampler: SamplerSettings;
}

/** CheckpointLoaderSimple → CLIPTextEncode ×2 → EmptyLatentImage → KSampler → VAEDecode → SaveImage. */
export function txt2imgWorkflow(p: Txt2ImgParams): Workflow {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: p.checkpoint } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: p.prompt, clip: ['4', 1] }, _meta: { title: 'Positive' } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: p.negativePrompt, clip: ['4', 1] }, _meta: { title: 'Negative' } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: p.width, height: p.height, batch_size: 1 } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed: p.seed,
        steps: p.sampler.steps,
        cfg: p.sampler.cfg,
        sampler_name: p.sampler.samplerName,
        scheduler: p.sampler.scheduler,
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'easel', images: ['8', 0] } },
  };
}

export interface Img2ImgParams extends Txt2ImgParams {
  /** The LoadImage `image` value: the uploaded file as `[subfolder/]name`. */
  image: string;
  denoise: number;
}

/**
 * LoadImage → ImageScale(width, height) → VAEEncode → KSampler(denoise) → VAEDecode → SaveImage.
 * The scale step makes the result the size asked for whatever the input's size is.
 */
export function img2imgWorkflow(p: Img2ImgParams): Workflow {
  const wf = txt2imgWorkflow(p);
  delete wf['5'];
  wf['10'] = { class_type: 'LoadImage', inputs: { image: p.image } };
  wf['11'] = { class_type: 'ImageScale', inputs: { image: ['10', 0], upscale_method: 'lanczos', width: p.width, height: p.height, crop: 'disabled' } };
  wf['12'] = { class_type: 'VAEEncode', inputs: { pixels: ['11', 0], vae: ['4', 2] } };
  const ks = wf['3']!.inputs;
  ks.latent_image = ['12', 0];
  ks.denoise = p.denoise;
  return wf;
}

// ---------------------------------------------------------------------------------------------
// Operator templates

/** Placeholder name → whether a whole-string occurrence becomes a number. */
export const PLACEHOLDERS = { prompt: false, negative_prompt: false, seed: true, width: true, height: true, checkpoint: false } as const;
export type PlaceholderName = keyof typeof PLACEHOLDERS;
export type PlaceholderValues = { [K in PlaceholderName]: K extends 'seed' | 'width' | 'height' ? number : string };

const TOKEN = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;

export interface WorkflowTemplate {
  source: string;
  tree: Workflow;
  used: Set<PlaceholderName>;
}

export class WorkflowTemplateError extends Error {
  constructor(source: string, problem: string) {
    super(`ComfyUI workflow template ${source}: ${problem}`);
    this.name = 'WorkflowTemplateError';
  }
}

/** Reads and checks EASEL_COMFYUI_WORKFLOW (or any path). Throws WorkflowTemplateError for the operator. */
export function loadWorkflowTemplate(file: string): WorkflowTemplate {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new WorkflowTemplateError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseWorkflowTemplate(text, file);
}

/**
 * Parses a template. Placeholders may sit inside JSON strings (`"text": "{{prompt}}"`,
 * `"filename_prefix": "easel-{{seed}}"`) or bare where a number goes (`"seed": {{seed}}`); bare
 * ones are quoted first by a scanner that knows where JSON strings are, so the file need not be
 * valid JSON before substitution.
 */
export function parseWorkflowTemplate(text: string, source = 'template'): WorkflowTemplate {
  let parsed: unknown;
  try {
    parsed = JSON.parse(quoteBarePlaceholders(text.replace(/^\uFEFF/, '')));
  } catch (e) {
    throw new WorkflowTemplateError(source, `is not valid JSON (${(e as Error).message})`);
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && 'nodes' in parsed && 'links' in parsed) {
    throw new WorkflowTemplateError(source, 'is a UI-format workflow; export it from ComfyUI with "Save (API Format)"');
  }
  // Accept a saved request body `{prompt: {...}}` too.
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && 'prompt' in parsed && isObject((parsed as { prompt: unknown }).prompt)) {
    const inner = (parsed as { prompt: Record<string, unknown> }).prompt;
    if (Object.values(inner).every((n) => isObject(n) && 'class_type' in n)) parsed = inner;
  }
  const problems = checkWorkflowGraph(parsed);
  if (problems.length > 0) throw new WorkflowTemplateError(source, problems.slice(0, 5).join('; '));

  const used = new Set<PlaceholderName>();
  const unknown = new Set<string>();
  walkStrings(parsed, (s) => {
    for (const m of s.matchAll(TOKEN)) {
      const name = m[1]!;
      if (name in PLACEHOLDERS) used.add(name as PlaceholderName);
      else unknown.add(name);
    }
  });
  if (unknown.size > 0) {
    throw new WorkflowTemplateError(source, `unknown placeholder(s) ${[...unknown].map((n) => `{{${n}}}`).join(', ')}; known: ${Object.keys(PLACEHOLDERS).map((n) => `{{${n}}}`).join(', ')}`);
  }
  if (!used.has('prompt')) throw new WorkflowTemplateError(source, 'has no {{prompt}} placeholder');
  return { source, tree: parsed as Workflow, used };
}

/** A fresh workflow with every placeholder replaced; the template itself is not modified. */
export function fillWorkflowTemplate(t: WorkflowTemplate, values: PlaceholderValues): Workflow {
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = WHOLE.exec(v);
      if (whole && whole[1]! in PLACEHOLDERS) return values[whole[1] as PlaceholderName];
      // One pass with a replacer function: inserted text is never re-scanned and `$` is not special.
      return v.replace(TOKEN, (all, name: string) => (name in PLACEHOLDERS ? String(values[name as PlaceholderName]) : all));
    }
    if (Array.isArray(v)) return v.map(fill);
    if (isObject(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = fill(x);
      return out;
    }
    return v;
  };
  return fill(t.tree) as Workflow;
}

/** Quotes `{{name}}` tokens that appear outside JSON strings, leaving everything else byte-for-byte. */
export function quoteBarePlaceholders(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    if (c === '{' && text[i + 1] === '{') {
      const m = /^\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}/.exec(text.slice(i));
      if (m) {
        out += JSON.stringify(m[0]);
        i += m[0].length - 1;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/**
 * Structural checks ComfyUI's own validation would also fail on: every node has a string
 * class_type and an inputs object, every link `[id, index]` points at an existing node, and some
 * node saves an image (SaveImage, or a custom node whose class name says Save/Preview). Returns the problems found (empty when fine).
 */
export function checkWorkflowGraph(wf: unknown): string[] {
  if (!isObject(wf) || Object.keys(wf).length === 0) return ['must be a non-empty JSON object of node id → {class_type, inputs}'];
  const problems: string[] = [];
  for (const [id, node] of Object.entries(wf)) {
    if (!isObject(node)) {
      problems.push(`node ${id} is not an object`);
      continue;
    }
    if (typeof node.class_type !== 'string' || node.class_type === '') problems.push(`node ${id} has no class_type`);
    if (!isObject(node.inputs)) {
      problems.push(`node ${id} has no inputs object`);
      continue;
    }
    for (const [name, v] of Object.entries(node.inputs)) {
      if (!Array.isArray(v)) continue;
      if (v.length !== 2 || typeof v[0] !== 'string' || !Number.isInteger(v[1]) || (v[1] as number) < 0) {
        problems.push(`node ${id} input ${name} is a list but not a link [node_id, output_index]`);
      } else if (!(v[0] in wf)) {
        problems.push(`node ${id} input ${name} links to node ${v[0]}, which does not exist`);
      }
    }
  }
  // SaveImage in the built-in graphs; custom save nodes (and PreviewImage) also put images in the history.
  if (!Object.values(wf).some((n) => isObject(n) && typeof n.class_type === 'string' && /save|preview/i.test(n.class_type))) {
    problems.push('has no node that saves an image (SaveImage)');
  }
  return problems;
}

function walkStrings(v: unknown, f: (s: string) => void): void {
  if (typeof v === 'string') f(v);
  else if (Array.isArray(v)) v.forEach((x) => walkStrings(x, f));
  else if (isObject(v)) Object.values(v).forEach((x) => walkStrings(x, f));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

import type { TSchema } from 'typebox';
import type { Services } from '../../app.js';
import type { CreateContext, PreparedSubmit } from './context.js';
import { GenerateImageBody } from '../../contract/generation.js';
import { GenerateDiagramBody, GenerateGraphicBody, combineJsonBody, editJsonBody, type EditKind } from '../../contract/content.js';
import { StoryBody } from '../../contract/story.js';
import type { StoryBodyIn } from '../../story/request.js';
import { operationOf } from '../../pipelines/process/types.js';
import { PROCESS_OP_SPECS } from '../routes/process-ops.js';
import { validatorCompiler } from '../validation.js';
import { toEaselError } from '../error-handler.js';
import { prepareGeneration, type GenerationOperation } from './generation.js';
import { prepareEditCombine } from './edit-combine.js';
import { prepareStory } from './story.js';
import { prepareProcess } from './process.js';

type Body = Record<string, unknown>;

/** One quotable operation: the JSON body schema of its create route, and the same prepare function that route runs. */
interface Quotable {
  body: TSchema;
  prepare(s: Services, ctx: CreateContext, body: Body): Promise<PreparedSubmit>;
}

const KINDS: EditKind[] = ['image', 'graphic', 'diagram'];
const generation = (op: GenerationOperation, body: TSchema): Quotable => ({ body, prepare: (s, ctx, b) => prepareGeneration(s, ctx, b as never, op) });

/** Every job operation POST /v1/quote prices, by the `operation` a job of it has. */
const QUOTABLE: Record<string, Quotable> = {
  image: generation('image', GenerateImageBody),
  graphic: generation('graphic', GenerateGraphicBody),
  diagram: generation('diagram', GenerateDiagramBody),
  story: { body: StoryBody, prepare: (s, ctx, b) => prepareStory(s, ctx, b as unknown as StoryBodyIn) },
  ...Object.fromEntries(
    KINDS.flatMap((kind): [string, Quotable][] => [
      [`edit_${kind}`, { body: editJsonBody(kind), prepare: (s, ctx, body) => prepareEditCombine(s, ctx, { mode: 'edit', kind, body, files: null }) }],
      [`combine_${kind}`, { body: combineJsonBody(kind), prepare: (s, ctx, body) => prepareEditCombine(s, ctx, { mode: 'combine', kind, body, files: null }) }],
    ]),
  ),
  ...Object.fromEntries(PROCESS_OP_SPECS.map((spec): [string, Quotable] => [operationOf(spec.op), { body: spec.body, prepare: (s, ctx, b) => prepareProcess(s, ctx, spec, b) }])),
};

export const QUOTABLE_OPERATIONS = Object.keys(QUOTABLE);

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };
const validators = new Map<string, Validate>();

/**
 * Runs the create's own checks on `body` as the create route would, without creating anything:
 * its body schema (same validator, same error as fastify's validation gives the route), then its
 * prepare function (moderation, model, limits, price). Multipart-only inputs are quoted as URLs.
 */
export async function prepareForQuote(s: Services, ctx: CreateContext, operation: string, body: Body): Promise<PreparedSubmit> {
  const q = QUOTABLE[operation];
  if (!q) throw new Error(`not a quotable operation: ${operation}`);
  let check = validators.get(operation);
  if (!check) {
    check = validatorCompiler({ schema: q.body, httpPart: 'body', method: 'POST', url: '/v1/quote' }) as Validate;
    validators.set(operation, check);
  }
  if (!check(body)) throw toEaselError(Object.assign(new Error('invalid body'), { validation: check.errors ?? [], validationContext: 'body' }) as never);
  return q.prepare(s, ctx, body);
}

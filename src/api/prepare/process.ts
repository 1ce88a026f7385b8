import type { Services } from '../../app.js';
import { preparedFor, type CreateContext, type PreparedSubmit } from './context.js';
import type { ProcessOpSpec } from '../routes/process-ops.js';
import { EaselError } from '../../errors.js';
import { operationOf, type ProcessRequest } from '../../pipelines/process/types.js';
import { checkInputUrls } from '../input-url.js';
import { createExtras, withoutWebhookFields } from '../create-extras.js';
import { takeJobOptions } from '../../jobs/options.js';

const URL_FIELDS = ['input_image_url', 'overlay_image_url'] as const;

/** A processing operation up to the submit: its URLs and cross-field rules (422). Free: nothing is held. */
export async function prepareProcess(s: Services, ctx: CreateContext, spec: ProcessOpSpec, body: Record<string, unknown>): Promise<PreparedSubmit> {
  const extras = await createExtras(s, ctx, body);
  // max_cost_eur, metadata, retention_days belong to the job, not to the operation's parameters.
  const { options, rest } = takeJobOptions(withoutWebhookFields(body));
  const { input_image_url, ...params } = rest;
  checkInputUrls(s, { input_image_url, ...params }, URL_FIELDS);
  const problems = spec.check?.(params) ?? [];
  if (problems.length > 0) {
    throw new EaselError(422, 'validation_failed', `${problems[0]!.path}: ${problems[0]!.message}.`, { fields: problems });
  }
  const request: ProcessRequest = { op: spec.op, input_image_url: input_image_url as string, params, strictness: ctx.auth.strictness };
  return {
    ...preparedFor(ctx, extras, options),
    operation: operationOf(spec.op),
    model: null,
    request,
    holdMicros: 0,
    scenesTotal: 1,
  };
}

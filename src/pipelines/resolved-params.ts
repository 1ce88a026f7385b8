import type { JobParams } from '../jobs/types.js';
import type { ProviderParams } from '../providers/port.js';

/**
 * One generation's `params` (issue 22): the model that ran, its adapter, the size Easel sent, and
 * what the backend reported — null where it said nothing (nothing is guessed). Shared by single
 * images (finish-image-job.ts) and each story portrait and scene (story/step.ts).
 */
export function resolvedParams(model: string, adapter: string | null, sent: { width: number; height: number }, reported: ProviderParams | undefined): JobParams {
  return {
    model,
    vendor_model: reported?.vendor_model ?? null,
    vendor_version: reported?.vendor_version ?? null,
    seed: reported?.seed ?? null,
    width: sent.width,
    height: sent.height,
    steps: reported?.steps ?? null,
    sampler: reported?.sampler ?? null,
    guidance: reported?.guidance ?? null,
    adapter,
  };
}

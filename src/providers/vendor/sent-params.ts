import type { ProviderParams } from '../port.js';

/**
 * The params of an input-JSON vendor call (fal, Replicate, BFL): the seed the vendor reports wins,
 * else the one sent; steps and guidance only when the call sent them, under whichever of the
 * vendor's field names (`steps`, `guidance`) it used — nothing is guessed.
 */
export function sentParams(
  vendorModel: string,
  sent: Record<string, unknown>,
  reportedSeed: unknown,
  fields: { steps: string[]; guidance: string[] },
): ProviderParams {
  const params: ProviderParams = { vendor_model: vendorModel };
  if (typeof reportedSeed === 'number' && Number.isSafeInteger(reportedSeed)) params.seed = reportedSeed;
  else if (typeof sent.seed === 'number') params.seed = sent.seed;
  const first = (names: string[]) => names.map((n) => sent[n]).find((v): v is number => typeof v === 'number');
  const steps = first(fields.steps);
  if (steps !== undefined) params.steps = steps;
  const guidance = first(fields.guidance);
  if (guidance !== undefined) params.guidance = guidance;
  return params;
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../app.js';
import type { SubmitInput } from '../../jobs/service.js';
import { awaitJobResult } from '../sync-job.js';
import { preferWait } from '../prefer.js';

/**
 * The synchronous job pattern of POST /v1/generate/image, shared by every synchronous generator
 * (graphic, diagram, edit, combine): submit (hold the price, 402 if not covered), put the job id
 * in the headers, wait for the job (the shared awaitJobResult), answer its result — or its error,
 * mapped to the contract.
 * The job runs in the queue whatever happens to the connection; the request only waits for it.
 */
export async function submitAndWait(
  s: Services,
  req: FastifyRequest,
  reply: FastifyReply,
  input: SubmitInput,
  /** Runs when the job was not accepted (402, 429, …): e.g. drop inputs stored for it. */
  onRefused?: () => Promise<void>,
  /** Request fields a failure message may name (see awaitJobResult): they go to details.fields. */
  fields: readonly string[] = ['image_url', 'reference_images', 'prompt'],
): Promise<Record<string, unknown>> {
  let job;
  try {
    // The job carries the request id: API and worker log lines join on it.
    job = await s.jobs.submit({ ...input, requestId: req.id });
  } catch (e) {
    await onRefused?.().catch(() => undefined);
    throw e;
  }
  reply.header('x-easel-job-id', job.id).header('x-depicta-job-id', job.id);
  if (job.replayed) {
    // The Idempotency-Key named an earlier job: inputs stored for this request are not needed.
    reply.header('idempotent-replayed', 'true');
    await onRefused?.().catch(() => undefined);
  }
  req.log.info({ job_id: job.id, operation: input.operation, replayed: job.replayed === true }, 'job accepted');
  return awaitJobResult(s, job.id, `${input.operation.replace('_', ' ')} job`, fields, stillRunningAfterPrefer(req, reply, job.id));
}

/** `Prefer: wait=N` on a synchronous create: past N s the answer is 202 {job_id, poll_url} instead of waiting on. */
export function stillRunningAfterPrefer(req: FastifyRequest, reply: FastifyReply, jobId: string) {
  const waitS = preferWait(req, reply);
  if (waitS === null) return undefined;
  return {
    waitS,
    stillRunning: () => {
      reply.code(202);
      return { job_id: jobId, poll_url: `/v1/jobs/${jobId}` };
    },
  };
}

/*
 * OpenAI's image streaming (API reference "Image streaming"): POST /v1/images/generations or
 * /v1/images/edits with `stream: true, partial_images: N` (0–3) answers `text/event-stream`:
 *   image_generation.partial_image | image_edit.partial_image  {b64_json, partial_image_index, …}
 *   image_generation.completed     | image_edit.completed      {b64_json, usage, …}
 * and, when something goes wrong after the answer began, an `error` event
 * `{type: "error", error: {type, code, message, param}}` (or a bare `{error: {…}}` data line).
 * Partial frames become progress with a preview; the completed frame is the result.
 */
import { JobFailure } from '../../errors.js';
import type { ProgressSink, ProviderOutput } from '../port.js';
import { malformed, safetyBlocked } from '../vendor/failure.js';
import { decodeBase64Image } from '../vendor/image-bytes.js';
import { readSse } from '../vendor/sse.js';

/** OpenAI's error codes that mean its safety system refused the request. */
export const OPENAI_SAFETY_CODES = new Set(['content_policy_violation', 'moderation_blocked']);

interface StreamEvent {
  type?: unknown;
  b64_json?: unknown;
  partial_image_index?: unknown;
  error?: { code?: unknown; type?: unknown; message?: unknown } | null;
}

/**
 * Reads the event stream to its `completed` frame. `partials` is the N asked for: partial i
 * (0-based) is reported as fraction (i+1)/(N+1), so the bar moves evenly and never reaches 1
 * before the image is there (OpenAI may send fewer partials when the image is done sooner).
 */
export async function readImageStream(vendor: string, body: AsyncIterable<Buffer>, partials: number, report: ProgressSink): Promise<ProviderOutput> {
  let sawPartial = false;
  for await (const sse of readSse(body)) {
    let ev: StreamEvent;
    try {
      ev = JSON.parse(sse.data) as StreamEvent;
    } catch {
      throw malformed(vendor, 'an image stream event that is not JSON');
    }
    if (!ev || typeof ev !== 'object') throw malformed(vendor, 'an image stream event that is not an object');
    const type = typeof ev.type === 'string' ? ev.type : sse.event;
    if (type === 'error' || sse.event === 'error' || (ev.error && typeof ev.error === 'object')) throw streamFailure(vendor, ev.error);
    if (type.endsWith('.partial_image')) {
      if (typeof ev.b64_json !== 'string' || ev.b64_json === '') continue; // a frame we cannot show is no reason to fail
      const index = typeof ev.partial_image_index === 'number' && ev.partial_image_index >= 0 ? ev.partial_image_index : 0;
      sawPartial = true;
      report({ stage: 'sampling', fraction: Math.min(index + 1, partials) / (partials + 1), preview: { bytes: Buffer.from(ev.b64_json, 'base64') } });
    } else if (type.endsWith('.completed')) {
      return decodeBase64Image(vendor, ev.b64_json);
    }
    // Any other event type (added later by the vendor) is skipped.
  }
  throw malformed(vendor, `an image stream that ended without its completed frame${sawPartial ? ' (after partial images)' : ''}`);
}

/** An `error` event → the JobFailure the same error answered as HTTP would give. */
export function streamFailure(vendor: string, err: StreamEvent['error']): JobFailure {
  const code = typeof err?.code === 'string' ? err.code : undefined;
  const type = typeof err?.type === 'string' ? err.type : undefined;
  if (code && OPENAI_SAFETY_CODES.has(code)) return safetyBlocked(vendor, 'input', code);
  if (code === 'invalid_api_key' || type === 'authentication_error') {
    return new JobFailure('provider_unavailable', `${vendor} refused our credentials; the operator must check its API key and account.`, false);
  }
  const label = /^[\w.-]{1,60}$/.test(code ?? type ?? '') ? ` (${code ?? type})` : '';
  // Rate limits and server errors are worth another attempt, like a 429/5xx answer.
  if (code === 'rate_limit_exceeded' || type === 'server_error' || type === 'rate_limit_error' || code === 'server_error') {
    return new JobFailure('upstream_error', `${vendor} failed while streaming the image${label}.`, true);
  }
  return new JobFailure('upstream_error', `${vendor} stopped the image stream with an error${label}.`, false);
}

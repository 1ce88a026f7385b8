import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { Uuid } from '../contract/common.js';

/** The longest `Prefer: wait=N` honoured; larger values are cut to it (and Preference-Applied says so). */
export const MAX_PREFER_WAIT_S = 60;

/**
 * `Prefer: wait=N` (RFC 7240 §4.3): how long the client is willing to wait for the finished job.
 * Returns the seconds to wait (capped) and sets `Preference-Applied: wait=<that>`; null when the
 * header asks for no wait (other preferences and malformed values are ignored, as the RFC says).
 */
export function preferWait(req: FastifyRequest, reply: FastifyReply, capS = MAX_PREFER_WAIT_S): number | null {
  const raw = req.headers.prefer;
  if (raw === undefined) return null;
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  for (const pref of text.split(/[,;]/)) {
    // Any number of digits: a wait longer than the cap is cut to it, never ignored (issue 20).
    const m = /^\s*wait\s*=\s*"?(\d+)"?\s*$/i.exec(pref);
    if (!m) continue;
    const n = Math.min(Number(m[1]), capS);
    reply.header('preference-applied', `wait=${n}`);
    return n;
  }
  return null;
}

/** 202 body of a synchronous create whose `Prefer: wait=N` ran out before the job finished. */
export const JobAccepted = Type.Object(
  { job_id: Uuid, poll_url: Type.String({ description: '/v1/jobs/{job_id}' }) },
  { $id: 'JobAccepted', additionalProperties: false, description: 'Easel: the job is still running (Prefer: wait=N ran out); poll poll_url.' },
);

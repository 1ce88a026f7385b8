import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { JobIdParams, errorResponses } from '../../contract/common.js';
import { requireAuth } from '../auth.js';
import { badRequest, notFound } from '../../errors.js';
import { listJobEvents } from '../../jobs/event-log.js';
import { TERMINAL } from '../../jobs/types.js';
import { TERMINAL_EVENTS } from '../../contract/webhook-events.js';
import { eventEnvelope } from '../../webhooks/payload.js';

/** Comment lines keep proxies and clients from timing the stream out while a job is quiet. */
const HEARTBEAT_MS = 15_000;
/** Another process (a worker) writes the events: the table is re-read this often, besides in-process wake-ups. */
const POLL_MS = 250;

const EventsQuery = Type.Object(
  { after: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: 'Start after this seq (as Last-Event-ID; the header wins).' })) },
  { additionalProperties: false },
);

/**
 * GET /v1/jobs/{id}/events: the job's events as Server-Sent Events. Replays job_events after
 * Last-Event-ID, then follows new ones until the terminal event, then ends the stream.
 */
export function jobEventRoutes(app: FastifyInstance, s: Services): void {
  const open = new Set<() => void>();
  // Streams never go idle by themselves; shutdown ends them so the server can drain.
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  app.get(
    '/v1/jobs/:id/events',
    {
      schema: {
        summary: 'Follow a job live: its events as Server-Sent Events (Easel)',
        description:
          'text/event-stream. Each event: `id:` the per-job sequence number, `event:` the type (job.created, job.started, scene.completed, scene.failed, job.completed, job.failed, job.canceled), ' +
          '`data:` JSON {type, timestamp, data: {job_id, seq, event, job, occurred_at}} (the webhook payload). Past events are replayed first; send Last-Event-ID (or ?after=) to resume exactly after one. ' +
          'The stream ends after the terminal event; `: keep-alive` comments every 15 s. Works whichever process runs the job.',
        tags: ['jobs'],
        params: JobIdParams,
        querystring: EventsQuery,
        response: {
          200: { description: 'An event stream.', content: { 'text/event-stream': { schema: Type.String() } } },
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (req, reply) => {
      const auth = requireAuth(req);
      const { id } = req.params as Static<typeof JobIdParams>;
      const job = await s.jobs.getForAccount(id, auth.accountId);
      if (!job) throw notFound(`No job ${id}.`);
      let last = (req.query as Static<typeof EventsQuery>).after ?? 0;
      const header = req.headers['last-event-id'];
      if (typeof header === 'string' && header.trim() !== '') {
        if (!/^\d{1,10}$/.test(header.trim())) throw badRequest('Last-Event-ID must be an event id (a non-negative integer) from this stream.');
        last = Number(header.trim());
      }

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 1000\n\n');

      let closed = false;
      let wake: (() => void) | null = null;
      const end = () => {
        if (closed) return;
        closed = true;
        wake?.();
        res.end();
      };
      open.add(end);
      res.on('close', () => {
        closed = true;
        wake?.();
      });
      const off = s.jobs.changes.on(id, () => wake?.());
      const beat = setInterval(() => {
        if (!closed) res.write(': keep-alive\n\n');
      }, HEARTBEAT_MS);
      try {
        let quietChecks = 0;
        while (!closed) {
          const events = await listJobEvents(s.db, id, last);
          let done = false;
          for (const ev of events) {
            if (closed) break;
            const row = (await s.jobs.get(id))!;
            const envelope = await eventEnvelope(s.presenter, row, ev);
            res.write(`id: ${ev.seq}\nevent: ${ev.type}\ndata: ${JSON.stringify(envelope)}\n\n`);
            last = ev.seq;
            if (TERMINAL_EVENTS.has(ev.type)) done = true;
          }
          if (done) break;
          if (events.length === 0) {
            // A terminal job's last event commits with its status: one more read finds it, or there is none (a job older than the event log).
            const now = await s.jobs.get(id);
            if (!now || TERMINAL.has(now.status)) {
              if (++quietChecks > 1) break;
              continue;
            }
          }
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, POLL_MS);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          wake = null;
        }
      } catch (e) {
        req.log.warn({ err: e, job_id: id }, 'event stream failed');
      } finally {
        clearInterval(beat);
        off();
        open.delete(end);
        end();
      }
    },
  );
}

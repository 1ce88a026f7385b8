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
import { keyLookup } from '../../accounts/key-lookup.js';
import { KeyWatch } from '../key-watch.js';
import { ProgressStream } from '../progress-stream.js';

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
 * Last-Event-ID, then follows new ones until the terminal event, then ends the stream. A stream
 * whose key is revoked (or whose account is suspended), by any process, ends within KEY_WATCH_MS,
 * and the key is re-read before every batch of events is sent: their signed URLs never go out
 * on a key that no longer authenticates.
 */
export function jobEventRoutes(app: FastifyInstance, s: Services): void {
  const open = new Set<() => void>();
  const keys = new KeyWatch(keyLookup(s.db), undefined, (e) => s.log.warn({ err: e }, 'event streams: key check failed'));
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
          'text/event-stream. Each event: `id:` the per-job sequence number, `event:` the type (job.created, job.started, scene.completed, scene.failed, job.completed, job.failed, job.canceled, batch.item.completed, batch.item.failed), ' +
          '`data:` JSON {type, timestamp, data: {job_id, seq, event, job, occurred_at}} (the webhook payload). Past events are replayed first; send Last-Event-ID (or ?after=) to resume exactly after one. ' +
          'The stream ends after the terminal event; `: keep-alive` comments every 15 s. Works whichever process runs the job. ' +
          'While the job runs, `event: job.progress` events (no `id:`: they are not stored and not replayed) carry `data:` {type: "job.progress", timestamp, data: {job_id, progress}} — `progress` as in the job view — at most 4 a second, coalesced: a client that reads slowly gets the latest report, never a backlog. ' +
          'If the key the stream was opened with is revoked (or the account suspended), the stream ends within a few seconds with a `: key revoked` comment, and no event is sent after the key is found revoked; reconnecting answers 401.',
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
      const keyRevoked = () => {
        if (!closed) res.write(': key revoked\n\n');
        end();
      };
      open.add(end);
      const unwatch = keys.watch(auth.keyId, keyRevoked);
      res.on('close', () => {
        closed = true;
        wake?.();
      });
      const off = s.jobs.changes.on(id, () => wake?.());
      const progress = new ProgressStream(res, s.presenter, () => keys.usable(auth.keyId));
      const beat = setInterval(() => {
        if (!closed) res.write(': keep-alive\n\n');
      }, HEARTBEAT_MS);
      try {
        let quietChecks = 0;
        while (!closed) {
          // The row first, then the events: everything that committed before the row was read is listed, so
          // its progress (written only after job.started commits) never overtakes job.started, and a terminal
          // row means its last event is in this listing.
          const now = await s.jobs.get(id);
          const events = await listJobEvents(s.db, id, last);
          // The newest row this pass has read: each event below goes out with a row read after `now`,
          // whose progress the client then holds; progress from `now` would move its bar back.
          let latest = now;
          let done = false;
          // Events carry fresh signed URLs: only for a key that still authenticates.
          if (events.length > 0 && !(await keys.usable(auth.keyId))) {
            keyRevoked();
            break;
          }
          for (const ev of events) {
            if (closed) break;
            const row = (await s.jobs.get(id))!;
            const envelope = await eventEnvelope(s.presenter, row, ev);
            res.write(`id: ${ev.seq}\nevent: ${ev.type}\ndata: ${JSON.stringify(envelope)}\n\n`);
            progress.seen(row);
            latest = row;
            last = ev.seq;
            if (TERMINAL_EVENTS.has(ev.type)) done = true;
          }
          if (done) break;
          if (events.length === 0) {
            // A terminal job with no event left to send: there is none (a job older than the event log); one more look to be sure.
            if (!now || TERMINAL.has(now.status)) {
              if (++quietChecks > 1) break;
              continue;
            }
          }
          if (latest && (await progress.send(latest))) {
            keyRevoked();
            break;
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
        unwatch();
        off();
        open.delete(end);
        end();
      }
    },
  );
}

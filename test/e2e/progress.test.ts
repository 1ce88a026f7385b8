import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { EaselProcess, MODE, api, download, waitFor } from '../helpers/server.js';
import { readEvents } from '../helpers/sse-client.js';

/**
 * Live progress and previews (issue 22) on the offline renderer, which spends its simulated
 * latency in 20 sampling steps with coarse-to-fine frames: polls, SSE, preview URLs, the
 * authenticated preview route, opt-in progress webhooks, and a stream whose reader pauses.
 */
const LATENCY_MS = 3000;

interface Progress {
  stage: string;
  step?: number;
  steps?: number;
  fraction: number;
  scene?: number;
  preview_url?: string;
  updated_at: string;
}

const submit = (srv: EaselProcess, key: string, body: Record<string, unknown>) =>
  api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body, headers: { prefer: 'wait=0' } });

function assertMonotone(seen: Progress[], what: string): void {
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i]!.fraction >= seen[i - 1]!.fraction, `${what}: fraction went back at ${i}: ${seen[i - 1]!.fraction} → ${seen[i]!.fraction}`);
    if (seen[i]!.scene === seen[i - 1]!.scene && seen[i]!.step != null && seen[i - 1]!.step != null) {
      assert.ok(seen[i]!.step! >= seen[i - 1]!.step!, `${what}: step went back at ${i}`);
    }
  }
}

describe('live progress and previews (offline renderer)', () => {
  let srv: EaselProcess;
  let key: string;
  let other: string;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: String(LATENCY_MS), EASEL_ALLOW_LOOPBACK_URLS: 'true', EASEL_WEBHOOK_POLL_MS: '100' } });
    key = await srv.createKey('progress-a', '10');
    other = await srv.createKey('progress-b', '10');
  });
  after(() => srv.stop());

  it('polls see monotone progress and a downloadable preview while running; nothing after the end; never another account', async () => {
    const created = await submit(srv, key, { prompt: 'a lighthouse on a cliff at dusk' });
    assert.equal(created.status, 202);
    const id = created.body.job_id as string;
    const seen: Progress[] = [];
    let frame: { url: string; bytes: Buffer } | null = null;
    let job: any;
    for (;;) {
      const r = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
      assert.equal(r.status, 200);
      job = r.body;
      if (job.status !== 'processing' && job.status !== 'pending') break;
      if (job.status === 'pending') assert.equal(job.progress, undefined, 'no progress before the job runs');
      if (job.progress) {
        seen.push(job.progress);
        if (job.progress.preview_url && !frame) {
          const got = await download(job.progress.preview_url);
          // The job may have moved to a newer frame between the poll and the download (404): the next poll retries.
          if (got.status === 200) {
            assert.equal(got.headers.get('content-type'), 'image/webp');
            frame = { url: job.progress.preview_url, bytes: got.bytes };
            // The same frame with the key; another account sees no job and no frame.
            const own = await fetch(srv.url(`/v1/jobs/${id}/preview`), { headers: { authorization: `Bearer ${key}` } });
            assert.ok(own.status === 200 || own.status === 404, `own preview: ${own.status}`);
            const theirs = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}/preview`, { key: other });
            assert.equal(theirs.status, 404);
            assert.equal(theirs.body.error, 'not_found');
            assert.equal((await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key: other })).status, 404);
            // A URL whose signature was tampered with is refused.
            const forged = await download(job.progress.preview_url.replace(/sig=[^&]+/, 'sig=AAAA'));
            assert.equal(forged.status, 403);
          }
        }
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    assert.equal(job.progress, undefined, 'a finished job shows no progress');
    assert.ok(seen.length >= 5, `progress seen on ${seen.length} polls`);
    assertMonotone(seen, 'polls');
    assert.ok(seen.every((p) => p.steps === 20 && p.stage === 'sampling' || p.stage === 'encoding'), JSON.stringify(seen.map((p) => p.stage)));
    assert.ok(seen.at(-1)!.fraction >= 0.5, `the last poll saw ${seen.at(-1)!.fraction}`);

    assert.ok(frame, 'a preview frame was downloadable while the job ran');
    const meta = await sharp(frame.bytes).metadata();
    assert.equal(meta.format, 'webp');
    assert.ok(meta.width! > 0 && meta.width! <= 256 && meta.height! <= 256, `${meta.width}×${meta.height}`);

    // After the end: the frame's URL and the route answer 404 at once; the frames' files are deleted.
    assert.equal((await download(frame.url)).status, 404);
    assert.equal((await api(srv.baseUrl, 'GET', `/v1/jobs/${id}/preview`, { key })).status, 404);
    if (MODE === 'embedded') {
      const dir = path.join(srv.dataDir, 'blobs', 'jobs', id, 'preview');
      await waitFor(async () => !fs.existsSync(dir) || fs.readdirSync(dir).length === 0, 10_000);
    }
    // The result itself is untouched by all this.
    const png = await download(job.result.formats.png.url);
    assert.equal(png.status, 200);
    assert.equal((await sharp(png.bytes).metadata()).width, 1024);
  });

  it('SSE carries job.progress (no id, monotone, at most 4 a second) between the stored events', async () => {
    const created = await submit(srv, key, { prompt: 'a paper boat on a pond' });
    const id = created.body.job_id as string;
    const started = Date.now();
    const stream = await readEvents(srv.baseUrl, `/v1/jobs/${id}/events`, key);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(stream.ended, true);
    const progress = stream.events.filter((e) => e.event === 'job.progress');
    const stored = stream.events.filter((e) => e.event !== 'job.progress');
    assert.deepEqual(stored.map((e) => e.event), ['job.created', 'job.started', 'job.completed']);
    assert.ok(progress.every((e) => e.id === undefined || e.id === stored[1]!.id), 'progress events carry no id of their own');
    const bodies = progress.map((e) => JSON.parse(e.data));
    for (const b of bodies) {
      assert.equal(b.type, 'job.progress');
      assert.equal(b.data.job_id, id);
    }
    const seen = bodies.map((b) => b.data.progress as Progress);
    assert.ok(seen.length >= 5, `${seen.length} progress events`);
    assertMonotone(seen, 'SSE');
    // The renderer reports 20 steps in 3 s (6–7 a second): the stream sends at most 4 a second.
    assert.ok(seen.length <= Math.ceil(seconds * 4) + 2, `${seen.length} progress events in ${seconds.toFixed(1)} s`);
    const order = stream.events.map((e) => e.event);
    assert.ok(order.indexOf('job.progress') > order.indexOf('job.started') && order.lastIndexOf('job.progress') < order.indexOf('job.completed'));
  });

  it('a story over SSE: the progress a client holds — from job.progress and from each stored event\'s job — never moves back across scenes', async () => {
    // Each stored event (a portrait's or a scene's) carries the whole job, its progress included; a
    // job.progress sent after it from an older read of the row once moved a client's bar back
    // (the CLI printed "scene 1/2 encoding 50%" after "scene 2/2 sampling 53%").
    const story = { characters: [{ name: 'Aria', appearance: 'a young librarian with red hair' }], scenes: [{ prompt: 'Aria reads a map', characters: ['Aria'] }, { prompt: 'Aria sails away', characters: ['Aria'] }] };
    const created = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: story });
    assert.equal(created.status, 202, created.text);
    const stream = await readEvents(srv.baseUrl, `/v1/jobs/${created.body.job_id}/events`, key);
    assert.equal(stream.ended, true);
    const held: Progress[] = [];
    for (const e of stream.events) {
      const body = JSON.parse(e.data);
      const p = (e.event === 'job.progress' ? body.data.progress : body.data.job?.progress) as Progress | undefined;
      if (p) held.push(p);
    }
    assert.ok(held.some((p) => p.scene === 2), `progress reached the second scene: ${JSON.stringify(held.map((p) => [p.scene, p.fraction]))}`);
    assertMonotone(held, 'story over SSE');
    for (let i = 1; i < held.length; i++) assert.ok((held[i]!.scene ?? 0) >= (held[i - 1]!.scene ?? 0), `scene went back at ${i}: ${JSON.stringify(held.map((p) => [p.scene, p.fraction]))}`);
  });

  it('a reader paused for 10 s gets a bounded, coalesced stream: every stored event, progress still monotone', async () => {
    // A story of 4 scenes (and 2 portraits): about 18 s of work at 3 s a call, progress throughout.
    const created = await api(srv.baseUrl, 'POST', '/v1/generate/story', {
      key,
      body: {
        characters: [
          { name: 'Ada', appearance: 'a tall engineer in a green coat' },
          { name: 'Ben', appearance: 'a small boy with a red cap' },
        ],
        scenes: [{ prompt: 'Ada repairs a clock', characters: ['Ada'] }, { prompt: 'Ben watches', characters: ['Ben'] }, { prompt: 'Tea for two', characters: ['Ada', 'Ben'] }, { prompt: 'Midnight' }],
      },
    });
    assert.equal(created.status, 202);
    const id = created.body.job_id as string;
    const text = await new Promise<{ body: string; seconds: number }>((resolve, reject) => {
      const began = Date.now();
      const req = http.get(srv.url(`/v1/jobs/${id}/events`), { headers: { authorization: `Bearer ${key}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ body, seconds: (Date.now() - began) / 1000 }));
        // Paused from 2 s to 12 s: the server keeps writing into a socket nobody reads.
        setTimeout(() => {
          res.pause();
          setTimeout(() => res.resume(), 10_000);
        }, 2000);
      });
      req.on('error', reject);
    });
    const events = text.body.split('\n\n').filter((b) => b.includes('event: '));
    const type = (b: string) => /event: (.+)/.exec(b)![1];
    const progress = events.filter((b) => type(b) === 'job.progress').map((b) => JSON.parse(/data: (.+)/.exec(b)![1]!).data.progress as Progress);
    const stored = events.filter((b) => type(b) !== 'job.progress').map(type);
    assert.equal(stored[0], 'job.created');
    assert.equal(stored.at(-1), 'job.completed');
    assert.equal(stored.filter((t) => t === 'scene.completed').length, 4, 'no stored event lost while paused');
    assert.ok(progress.length > 0);
    assert.ok(progress.length <= Math.ceil(text.seconds * 4) + 2, `${progress.length} progress events in ${text.seconds.toFixed(1)} s: bounded by the rate, not by the reports`);
    assertMonotone(progress, 'paused SSE');
    const scenes = [...new Set(progress.map((p) => p.scene))];
    assert.ok(scenes.length >= 2 && scenes.every((s, i) => i === 0 || s! > scenes[i - 1]!), `scenes in order: ${scenes.join(',')}`);
  });

  it('job.progress webhooks are opt-in: sent (signed, at most one a second) only when webhook_events names them', async () => {
    const got: { headers: Record<string, string>; body: string }[] = [];
    const rx = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(rx.address() as { port: number }).port}/hook`;
    try {
      const secret = (await api(srv.baseUrl, 'GET', '/v1/account/webhook', { key })).body.secret as string;
      const opted = await submit(srv, key, { prompt: 'a kite over dunes', webhook_url: url, webhook_events: ['job.progress', 'job.completed'] });
      assert.equal(opted.status, 202, opted.text);
      const plain = await submit(srv, key, { prompt: 'a kite over hills', webhook_url: url });
      assert.equal(plain.status, 202, plain.text);
      const ids = [opted.body.job_id, plain.body.job_id];
      await waitFor(async () => ids.every((id) => got.some((g) => JSON.parse(g.body).type === 'job.completed' && JSON.parse(g.body).data.job_id === id)), 30_000, 100);
      const bodies = got.map((g) => ({ g, p: JSON.parse(g.body) }));
      const progress = bodies.filter(({ p }) => p.type === 'job.progress');
      assert.ok(progress.length >= 1, 'the opted-in job sent progress');
      assert.ok(progress.every(({ p }) => p.data.job_id === ids[0]), 'the job that did not opt in sent none');
      for (const { g, p } of progress) {
        new Webhook(secret).verify(g.body, { 'webhook-id': g.headers['webhook-id']!, 'webhook-timestamp': g.headers['webhook-timestamp']!, 'webhook-signature': g.headers['webhook-signature']! });
        assert.ok(p.data.progress.fraction >= 0 && p.data.progress.fraction <= 1);
      }
      // 3 s of work at most one a second (plus the one waiting when the job ended, dropped).
      assert.ok(progress.length <= 5, `${progress.length} progress webhooks`);
      assertMonotone(progress.map(({ p }) => p.data.progress), 'webhooks');
      // A progress delivery still waiting when the job ended is dropped by the dispatcher, not sent stale nor kept forever.
      await waitFor(async () => {
        const deliveries = (await api(srv.baseUrl, 'GET', `/v1/webhooks/deliveries?job_id=${ids[0]}`, { key })).body;
        return deliveries.deliveries.every((d: any) => d.status === 'succeeded');
      }, 10_000, 100);
    } finally {
      await new Promise<void>((r) => rx.close(() => r()));
    }
  });
});

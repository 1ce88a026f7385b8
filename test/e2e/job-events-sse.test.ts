import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, MODE, api } from '../helpers/server.js';
import { readEvents } from '../helpers/sse-client.js';

/** 2 characters, 4 scenes: 2 portraits + 4 scenes. */
const STORY = {
  characters: [
    { name: 'Ada', appearance: 'a tall engineer in a green coat' },
    { name: 'Ben', appearance: 'a small boy with a red cap' },
  ],
  scenes: [
    { prompt: 'Ada repairs a clock', characters: ['Ada'] },
    { prompt: 'Ben watches from the door', characters: ['Ben'] },
    { prompt: 'Ada and Ben share tea', characters: ['Ada', 'Ben'] },
    { prompt: 'The clock strikes twelve' },
  ],
};

const seqs = (events: { id: string | undefined }[]) => events.map((e) => Number(e.id));
/** The stored events: `job.progress` (live progress, issue 22) is not stored, has no id of its own and is never replayed. */
const storedOnly = <T extends { event: string }>(events: T[]) => events.filter((e) => e.event !== 'job.progress');

describe('GET /v1/jobs/{id}/events (Server-Sent Events)', () => {
  let srv: EaselProcess;
  let key: string;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '300' } });
    key = await srv.createKey('sse-main', '10');
  });
  after(() => srv.stop());

  it('a client that disconnects mid-story and resumes with Last-Event-ID gets every event exactly once', async () => {
    const created = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY });
    assert.equal(created.status, 202);
    const id = created.body.job_id;
    const path = `/v1/jobs/${id}/events`;

    // Leave after the first scene, while the story is still running.
    const first = await readEvents(srv.baseUrl, path, key, { stopAfter: (evs) => evs.some((e) => e.event === 'scene.completed') });
    assert.equal(first.status, 200);
    assert.match(first.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(first.ended, false);
    assert.ok(first.lastEventId);
    const mid = (await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body;
    assert.notEqual(mid.status, 'completed', 'the disconnect happened mid-story');

    const rest = await readEvents(srv.baseUrl, path, key, { lastEventId: first.lastEventId });
    assert.equal(rest.status, 200);
    assert.equal(rest.ended, true, 'the server ends the stream after the terminal event');

    const all = storedOnly([...first.events, ...rest.events]);
    const got = seqs(all);
    assert.deepEqual(got, got.map((_, i) => i + 1), `no gaps, no duplicates: ${got.join(',')}`);
    const types = all.map((e) => e.event);
    assert.equal(types[0], 'job.created');
    assert.equal(types[1], 'job.started');
    assert.equal(types.at(-1), 'job.completed');
    assert.equal(types.filter((t) => t === 'scene.completed').length, 4);
    for (const e of all) {
      const env = JSON.parse(e.data);
      assert.equal(env.type, e.event);
      assert.equal(env.data.job_id, id);
      assert.equal(env.data.seq, Number(e.id));
      assert.equal(env.data.job.job_id, id);
    }
    const last = JSON.parse(all.at(-1)!.data);
    assert.equal(last.data.job.status, 'completed');
    assert.ok(last.data.job.result, 'the terminal event carries the finished job');

    // A late subscriber replays the same history, from the table.
    const replay = await readEvents(srv.baseUrl, path, key);
    assert.deepEqual(seqs(storedOnly(replay.events)), got);
    assert.deepEqual(storedOnly(replay.events).map((e) => e.event), types);
    assert.equal(replay.events.length, got.length, 'a replay of an ended job has no progress in it');
    // Resuming after the terminal event: nothing more, the stream just ends.
    const after = await readEvents(srv.baseUrl, path, key, { lastEventId: String(got.at(-1)) });
    assert.equal(after.status, 200);
    assert.equal(after.events.length, 0);
  });

  it("another account's job is 404; a malformed Last-Event-ID is 400", async () => {
    const other = await srv.createKey('sse-other', '1');
    const created = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a kettle' } });
    const id = created.headers.get('x-easel-job-id');
    const r = await readEvents(srv.baseUrl, `/v1/jobs/${id}/events`, other);
    assert.equal(r.status, 404);
    const bad = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}/events`, { key, headers: { 'last-event-id': 'abc' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'bad_request');
  });
});

describe(`SSE across processes (${MODE})`, () => {
  it('an API process without workers streams the events a separate worker process writes', async () => {
    const env = { EASEL_SKETCH_LATENCY_MS: '200' };
    const apiProc = await EaselProcess.start({ env, args: ['--no-worker'] });
    const procs = [apiProc];
    try {
      procs.push(await EaselProcess.start({ env, command: 'worker', sharedWith: apiProc }));
      const key = await apiProc.createKey('sse-multi', '10');
      const created = await api(apiProc.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY });
      assert.equal(created.status, 202);
      const r = await readEvents(apiProc.baseUrl, `/v1/jobs/${created.body.job_id}/events`, key);
      assert.equal(r.ended, true);
      const got = seqs(storedOnly(r.events));
      assert.deepEqual(got, got.map((_, i) => i + 1));
      assert.equal(r.events.at(-1)!.event, 'job.completed');
      assert.equal(r.events.filter((e) => e.event === 'scene.completed').length, 4);
    } finally {
      for (const p of procs.reverse()) await p.stop();
    }
  });
});

describe(`SSE and key revocation (${MODE})`, () => {
  it('revoking the key through another process ends an open stream while the job runs; nothing that happened after the revocation is sent', async () => {
    // Five seconds a picture: the story runs for well over ten seconds, the yardstick for "promptly".
    const env = { EASEL_SKETCH_LATENCY_MS: '5000' };
    const apiProc = await EaselProcess.start({ env });
    const procs = [apiProc];
    try {
      const other = await EaselProcess.start({ env, args: ['--no-worker'], sharedWith: apiProc });
      procs.push(other);
      const owner = await apiProc.createKey('sse-revoke-owner', '10');
      const minted = await api(apiProc.baseUrl, 'POST', '/v1/keys', { key: owner, body: { name: 'sse-stream' } });
      assert.equal(minted.status, 201, minted.text);
      const gen = minted.body as { id: string; key: string };
      const created = await api(apiProc.baseUrl, 'POST', '/v1/generate/story', { key: gen.key, body: STORY });
      assert.equal(created.status, 202, created.text);
      const id = created.body.job_id as string;

      let seen: { event: string | undefined }[] = [];
      let started!: () => void;
      const startedP = new Promise<void>((r) => (started = r));
      const stream = readEvents(apiProc.baseUrl, `/v1/jobs/${id}/events`, gen.key, {
        timeoutMs: 120_000,
        stopAfter: (evs) => {
          seen = evs;
          if (evs.some((e) => e.event === 'job.started')) started();
          return false; // only watching: the server is the one to end the stream
        },
      });
      await startedP;
      const revoke = await api(other.baseUrl, 'DELETE', `/v1/keys/${gen.id}`, { key: owner });
      assert.equal(revoke.status, 200, revoke.text);
      const revokedAt = Date.now();
      const seenAtRevocation = seen.length;
      const r = await stream;
      const closedAfterMs = Date.now() - revokedAt;

      assert.equal(r.status, 200);
      assert.equal(r.ended, true, 'the server ended the stream');
      assert.ok(!r.events.some((e) => e.event === 'job.completed' || e.event === 'job.failed'), `no terminal event: ${r.events.map((e) => e.event).join(',')}`);
      const job = await api(other.baseUrl, 'GET', `/v1/jobs/${id}`, { key: owner });
      assert.ok(job.body.status === 'processing' || job.body.status === 'pending', `the stream ended before the job did (job ${job.body.status}, closed ${closedAfterMs} ms after the revocation)`);
      // Nothing that happened after the revocation went out (timestamps are whole seconds: ≤ is the strict check).
      const revokedAtIso = revoke.body.revoked_at as string;
      for (const e of r.events.slice(seenAtRevocation)) {
        if (e.event === 'job.progress') {
          // Progress re-reads the key at most once a second (src/api/progress-stream.ts); revoked_at is cut to the second.
          const sent = JSON.parse(e.data).timestamp as string;
          assert.ok(Date.parse(sent) <= Date.parse(revokedAtIso) + 2000, `progress sent at ${sent}, long after the revocation at ${revokedAtIso}`);
          continue;
        }
        const occurred = JSON.parse(e.data).data.occurred_at as string;
        assert.ok(Date.parse(occurred) <= Date.parse(revokedAtIso), `event ${e.event} of ${occurred} sent after the revocation at ${revokedAtIso}`);
      }
      console.log(`# stream closed ${closedAfterMs} ms after the revocation (${r.events.length} events, ${r.events.length - seenAtRevocation} after it)`);
      // Reconnecting with the key is refused.
      const again = await readEvents(apiProc.baseUrl, `/v1/jobs/${id}/events`, gen.key, { lastEventId: r.lastEventId });
      assert.equal(again.status, 401);
      await api(apiProc.baseUrl, 'POST', `/v1/jobs/${id}/cancel`, { key: owner });
    } finally {
      for (const p of procs.reverse()) await p.stop();
    }
  });
});

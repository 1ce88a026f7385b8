import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EaselProcess, MODE, ROOT } from '../helpers/server.js';

/** Issue 24's first-minute papercuts, each checked where a new user meets it. */
describe(`first run (${MODE})`, () => {
  it('GET / redirects to the dashboard, and a start prints no deprecation or listener warnings', async () => {
    const srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '30' } });
    try {
      for (const method of ['GET', 'HEAD']) {
        const r = await fetch(`${srv.baseUrl}/`, { method, redirect: 'manual' });
        assert.equal(r.status, 302, method);
        assert.equal(r.headers.get('location'), '/dashboard/');
        await r.arrayBuffer();
      }
      const dash = await fetch(`${srv.baseUrl}/`);
      assert.equal(dash.status, 200);
      assert.match(await dash.text(), /<div id="app"|<html/);
      // A story with simulated latency: every step's delay used to leave an abort listener behind.
      const key = await srv.createKey('first-run', '5');
      const story = {
        model: 'easel-sketch',
        characters: [{ name: 'Cato', appearance: 'a young courier with a yellow raincoat' }],
        scenes: Array.from({ length: 12 }, (_, i) => ({ prompt: `Cato crosses bridge number ${i + 1} in the rain`, characters: ['Cato'] })),
      };
      const sub = await fetch(`${srv.baseUrl}/v1/generate/story`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(story) });
      assert.equal(sub.status, 202, await sub.clone().text());
      const { job_id } = (await sub.json()) as { job_id: string };
      for (let i = 0; i < 600; i++) {
        const j = (await (await fetch(`${srv.baseUrl}/v1/jobs/${job_id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { status: string };
        if (j.status === 'completed' || j.status === 'failed') {
          assert.equal(j.status, 'completed');
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const logs = srv.logs.join('\n');
      assert.ok(!/FSTDEP\d+|FastifyDeprecation/.test(logs), 'no fastify deprecation warning');
      assert.ok(!/MaxListenersExceededWarning/.test(logs), 'no MaxListenersExceededWarning');
    } finally {
      await srv.stop();
    }
  });

  it('a story says it is drawing portraits (phase, portraits n/N) before its scene counter moves; jobs carry their prompt', async () => {
    const srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '1500' } });
    try {
      const key = await srv.createKey('phases', '5');
      const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const story = {
        model: 'easel-sketch',
        prompt: 'Two friends cross the city in the rain',
        characters: [{ name: 'Cato', appearance: 'a courier in a yellow raincoat' }, { name: 'Ida', appearance: 'a painter with red hair' }],
        scenes: [{ prompt: 'Cato and Ida at the station', characters: ['Cato', 'Ida'] }, { prompt: 'Ida alone on the bridge', characters: ['Ida'] }],
      };
      const sub = await fetch(`${srv.baseUrl}/v1/generate/story`, { method: 'POST', headers: auth, body: JSON.stringify(story) });
      assert.equal(sub.status, 202);
      const { job_id } = (await sub.json()) as { job_id: string };
      const seen: string[] = [];
      let last: any;
      for (let i = 0; i < 400; i++) {
        last = await (await fetch(`${srv.baseUrl}/v1/jobs/${job_id}`, { headers: auth })).json();
        if (last.status === 'processing') {
          seen.push(`${last.phase} ${last.portraits_completed}/${last.portraits_total} ${last.scenes_completed}/${last.scenes_total}`);
          if (last.phase === 'portraits') assert.equal(last.scenes_completed, 0);
          if (last.phase === 'scenes') break;
        }
        if (last.status === 'completed' || last.status === 'failed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(seen.some((x) => x.startsWith('portraits 0/2 0/2')), `portraits phase seen: ${[...new Set(seen)].join(', ')}`);
      assert.ok(seen.some((x) => x.startsWith('scenes 2/2')), `scenes phase after all portraits: ${[...new Set(seen)].join(', ')}`);
      assert.equal(last.prompt, story.prompt);
      const img = await fetch(`${srv.baseUrl}/v1/generate/image`, { method: 'POST', headers: { ...auth, prefer: 'respond-async' }, body: JSON.stringify({ prompt: 'a blue car on a city street' }) });
      await img.arrayBuffer();
      const list = (await (await fetch(`${srv.baseUrl}/v1/jobs`, { headers: auth })).json()) as { generations: { prompt?: string; operation: string }[] };
      assert.deepEqual(list.generations.map((g) => [g.operation, g.prompt]).sort(), [['image', 'a blue car on a city street'], ['story', story.prompt]]);
      await (await fetch(`${srv.baseUrl}/v1/jobs/${job_id}/cancel`, { method: 'POST', headers: auth, body: '{}' })).arrayBuffer();
    } finally {
      await srv.stop();
    }
  });

  it('README links stay inside the repository and point at files that exist', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const anchors = new Set([...readme.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    assert.ok(links.length > 0);
    for (const l of links) {
      assert.ok(!/^[a-z]+:/i.test(l), `link outside the repository: ${l}`);
      if (l.startsWith('#')) assert.ok(anchors.has(l.slice(1)), `no heading for ${l}`);
      else assert.ok(fs.existsSync(path.join(ROOT, l.split('#')[0]!)), `missing file ${l}`);
    }
  });
});

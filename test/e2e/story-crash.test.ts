import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, api, download, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { captures, storedRawSteps, TERMINAL } from '../helpers/story.js';
import { normalizeStory } from '../../src/story/request.js';
import { planStory } from '../../src/story/plan.js';
import { figureSignature } from '../../src/providers/sketch/signature.js';
import { hasFigure } from '../../src/providers/sketch/detect.js';

/** 3 portraits (Mira, Mira (storm), Tal) then 4 scenes: 7 images at EUR 0.02. Scene prompts go out as written. */
const STORY = {
  model: 'easel-sketch',
  raw_prompts: true,
  characters: [
    { name: 'Mira', appearance: 'a pilot with a leather cap', states: { storm: { appearance: 'a soaked oilskin coat' } } },
    { name: 'Tal', appearance: 'a mechanic with oily gloves' },
  ],
  scenes: [
    { prompt: 'crash story: the hangar at dawn', characters: ['Mira', 'Tal'] },
    { prompt: 'crash story: take-off', characters: ['Mira'] },
    { prompt: 'crash story: into the storm', characters: [{ name: 'Mira', state: 'storm' }] },
    { prompt: 'crash story: landing', characters: ['Mira', 'Tal'] },
  ],
};
const PRICE = 20_000;

/** The exact text each step sends to the provider (from the same planner the server uses), to count calls per step. */
const PLAN = planStory(normalizeStory(STORY as never, { model: 'easel-sketch', unitPriceMicros: PRICE, strictness: 'normal' }), '3:4');
const STEPS = [...PLAN.slots.map((s) => ({ step: `portrait-${s.index}`, text: s.prompt })), ...PLAN.scenes.map((s) => ({ step: `scene-${s.index}`, text: s.text }))];

/**
 * Each point sits between a side effect and its record. Only a provider call whose answer was not
 * yet stored when the process died may be made again (`mayRepeat`; `mustRepeat` when the kill is
 * exactly there). Portraits run in parallel, so at the first portrait's store the others may still
 * be in flight; encoding and recording trail behind the next provider call, so a kill while an image
 * is encoded or recorded may catch the next step's call in flight.
 */
const PORTRAITS = ['portrait-0', 'portrait-1', 'portrait-2'];
const POINTS: { point: string; mayRepeat: string[]; mustRepeat?: string[] }[] = [
  { point: 'story_portrait_raw_stored', mayRepeat: PORTRAITS },
  { point: 'story_portrait_recorded:3', mayRepeat: ['scene-0'] },
  { point: 'story_scene_raw_stored:2', mayRepeat: [] },
  { point: 'story_scene_image_stored:3', mayRepeat: ['scene-3'] },
  { point: 'story_scene_recorded:1', mayRepeat: ['scene-1'] },
  { point: 'story_before_scene:4', mayRepeat: [] },
  { point: 'story_completed', mayRepeat: [] },
  // Hits 1–3 are the portraits: this is scene 2's call, answered but not stored.
  { point: 'story_after_provider_call:5', mayRepeat: ['scene-1'], mustRepeat: ['scene-1'] },
];

async function onlyJob(srv: EaselProcess, key: string): Promise<any> {
  return waitFor(async () => {
    const r = await api(srv.baseUrl, 'GET', '/v1/jobs', { key });
    if (r.status === 429) return null; // over the key's request rate: ask again
    const jobs = r.body.generations;
    return jobs.length === 1 && TERMINAL.has(jobs[0].status) ? jobs[0] : null;
  }, 30_000, 150);
}

describe('story crash resume (SIGKILL)', () => {
  for (const { point, mayRepeat, mustRepeat } of POINTS) {
    it(`a kill at "${point}" resumes from the last stored step: nothing generated or charged twice`, async () => {
      const callLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-story-calls-')), 'calls.jsonl');
      const srv = await EaselProcess.start({ env: { EASEL_CRASH_AT: point, EASEL_PROVIDER_CALL_LOG: callLog, EASEL_LEASE_MS: '1000' } });
      const account = `story-crash-${point.replace(/[^a-z0-9]/g, '-')}`;
      try {
        const key = await srv.createKey(account, '1');
        const killedPid = srv.child!.pid;
        // The 202 may or may not leave before the kill; the job is committed either way.
        await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY }).catch(() => null);
        const code = await Promise.race([srv.exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
        assert.equal(code, null, 'killed by the crash point');
        const storedAtKill = await storedRawSteps(srv);
        const logsAtKill = srv.logs.length;

        await srv.boot({ EASEL_CRASH_AT: '' });
        const job = await onlyJob(srv, key);
        assert.equal(job.status, 'completed', JSON.stringify(job));
        assert.equal(job.scenes_completed, 4);
        assert.equal(job.result.cost_eur, '0.140000');
        assert.deepEqual(job.result.scenes.map((s: any) => s.prompt), STORY.scenes.map((s) => s.prompt));

        // Provider calls per step, before and after the kill.
        const calls = fs.readFileSync(callLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; pid: number });
        assert.equal(calls.filter((c) => !STEPS.some((s) => s.text === c.prompt)).length, 0, 'every call belongs to a step');
        // A second run in one process (a retry, or a takeover after a 1 s lease ran out on a loaded
        // machine) may call an unstored step again, never a stored one. Runs are counted from the
        // worker's own "job started" lines and allowed for, nothing more.
        const reruns = (lines: string[]) => Math.max(0, lines.filter((l) => l.includes('"msg":"job started"')).length - 1);
        const rerunsBefore = reruns(srv.logs.slice(0, logsAtKill));
        const rerunsAfter = reruns(srv.logs.slice(logsAtKill));
        const repeated: string[] = [];
        for (const { step, text } of STEPS) {
          const before = calls.filter((c) => c.prompt === text && c.pid === killedPid).length;
          const after = calls.filter((c) => c.prompt === text && c.pid !== killedPid).length;
          assert.ok(before <= 1 + rerunsBefore, `${step}: ${before} calls before the kill`);
          if (storedAtKill.has(step)) assert.equal(after, 0, `${step} was stored at the kill, yet generated again`);
          else assert.ok(after >= 1 && after <= 1 + rerunsAfter, `${step}: not stored at the kill; calls after: ${after} (reruns ${rerunsAfter})`);
          if (before + after > 1) repeated.push(step);
        }
        assert.ok(repeated.every((s) => !storedAtKill.has(s)), `repeated: ${repeated.join(', ')}`);
        if (rerunsBefore + rerunsAfter === 0) {
          assert.ok(repeated.every((s) => mayRepeat.includes(s)), `repeated: ${repeated.join(', ')}`);
          if (mustRepeat) assert.deepEqual(repeated, mustRepeat);
        }

        // Charged once per step, to the micro-euro.
        const rows = await captures(srv, account);
        assert.deepEqual(rows.map((r) => r.note).sort(), STEPS.map((s) => `step ${s.step}`).sort());
        assert.ok(rows.every((r) => r.micros === PRICE));
        const audit = await auditLedger(srv, account);
        assert.equal(audit.captures, STEPS.length * PRICE);
        assert.equal(audit.available, 1_000_000 - STEPS.length * PRICE);
        assert.equal(audit.held, 0);
        assert.equal(audit.ledgerAvailable, audit.available);
        assert.equal(audit.ledgerHeld, 0);
        assert.deepEqual(audit.unbalancedTerminalJobs, []);
        assert.deepEqual(audit.chargeMismatches, []);

        // The resumed scenes still show the right people.
        const last = (await download(job.result.scenes[3].images.png)).bytes;
        assert.equal((await sharp(last).metadata()).format, 'png');
        assert.ok(await hasFigure(last, figureSignature('Mira')));
        assert.ok(await hasFigure(last, figureSignature('Tal')));
        assert.ok(!(await hasFigure(last, figureSignature('Mira#storm'))));
      } finally {
        await srv.stop();
      }
    });
  }
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, api, download } from '../helpers/server.js';
import { readEvents } from '../helpers/sse-client.js';
import { OpenAIFake } from '../fakes/openai-fake.js';
import { FalFake } from '../fakes/fal-fake.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { BflFake } from '../fakes/bfl-fake.js';
import { ComfyUIFake } from '../fakes/comfyui-fake.js';
import { A1111Fake } from '../fakes/a1111-fake.js';

/**
 * Live progress through the whole server for every vendor adapter (issue 22): each model is served
 * by the adapter against its local fake, which speaks the vendor's documented progress signals
 * (ComfyUI's WebSocket, AUTOMATIC1111's /sdapi/v1/progress, OpenAI's partial_images stream, fal's
 * queue status and logs, Replicate's status and logs, BFL's progress). A client polling the job and
 * one following its event stream both see monotone progress; where the vendor sends frames
 * (ComfyUI, AUTOMATIC1111, OpenAI) a preview is downloadable while the job runs and not after.
 */
const KEYS = { openai: 'sk-test-openai-progress', fal: 'fal-key-progress', replicate: 'r8_progress', bfl: 'bfl-key-progress' };

interface Progress {
  stage: string;
  step?: number;
  steps?: number;
  fraction: number;
  queue_position?: number;
  preview_url?: string;
}

interface Case {
  model: string;
  /** The vendor sends frames: a preview must be downloadable while the job runs. */
  previews: boolean;
  /** The vendor counts steps: polls must see step/steps. */
  steps: boolean;
}

const CASES: Case[] = [
  { model: 'comfy', previews: true, steps: true },
  { model: 'a1111', previews: true, steps: true },
  { model: 'openai', previews: true, steps: false },
  { model: 'fal', previews: false, steps: true },
  { model: 'replicate', previews: false, steps: true },
  { model: 'bfl', previews: false, steps: false },
];

function assertMonotone(seen: Progress[], what: string): void {
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i]!.fraction >= seen[i - 1]!.fraction, `${what}: fraction went back: ${seen[i - 1]!.fraction} → ${seen[i]!.fraction}`);
  }
}

describe('progress from every adapter, through the API', () => {
  let srv: EaselProcess;
  let key: string;
  let other: string;
  let openai: OpenAIFake;
  let fal: FalFake;
  let replicate: ReplicateFake;
  let bfl: BflFake;
  let comfy: ComfyUIFake;
  let a1111: A1111Fake;

  before(async () => {
    openai = await OpenAIFake.start({ apiKey: KEYS.openai });
    // Two partial frames and the final one spread over 3 s: long enough for a poll to fetch a frame.
    openai.streamLatencyMs = 3000;
    fal = await new FalFake(KEYS.fal, { 'fal-ai/flux/dev': 't2i' }).start();
    replicate = await new ReplicateFake(KEYS.replicate).start();
    bfl = await new BflFake(KEYS.bfl).start();
    // Each status poll moves the vendor on: this many polls (0.5 s, then growing) before done.
    fal.defaults = { polls: 6, outcome: 'ok' };
    replicate.defaults = { polls: 7, outcome: 'ok' };
    bfl.defaults = { polls: 6, outcome: 'ok' };
    comfy = await ComfyUIFake.start({ latencyMs: 3000, pollsBeforeDone: 0 });
    a1111 = await A1111Fake.start({ latencyMs: 3000 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-progress-vendors-'));
    const file = path.join(dir, 'models.yaml');
    fs.writeFileSync(
      file,
      `defaults: { image: comfy }
models:
  - { id: comfy, name: ComfyUI, description: fake, provider: comfyui, vendor_model: sd_xl_base_1.0.safetensors, operations: [generate], price_eur: "0.010000" }
  - { id: a1111, name: A1111, description: fake, provider: a1111, vendor_model: dreamshaper_8.safetensors, operations: [generate], price_eur: "0.010000" }
  - { id: openai, name: GPT Image, description: fake, provider: openai, vendor_model: gpt-image-1, operations: [generate], price_eur: "0.040000", fixed_sizes: [1024x1024] }
  - { id: fal, name: fal, description: fake, provider: fal, vendor_model: fal-ai/flux/dev, operations: [generate], price_eur: "0.030000" }
  - { id: replicate, name: Replicate, description: fake, provider: replicate, vendor_model: black-forest-labs/flux-1.1-pro, operations: [generate], price_eur: "0.040000" }
  - { id: bfl, name: BFL, description: fake, provider: bfl, vendor_model: flux-pro-1.1, operations: [generate], price_eur: "0.040000" }
`,
    );
    srv = await EaselProcess.start({
      env: {
        EASEL_MODELS_FILE: file,
        EASEL_COMFYUI_BASE_URL: comfy.url,
        EASEL_COMFYUI_POLL_INTERVAL_MS: '100',
        EASEL_A1111_BASE_URL: a1111.url,
        EASEL_OPENAI_API_KEY: KEYS.openai,
        EASEL_OPENAI_BASE_URL: openai.baseUrl,
        EASEL_FAL_API_KEY: KEYS.fal,
        EASEL_FAL_BASE_URL: fal.baseUrl,
        EASEL_REPLICATE_API_KEY: KEYS.replicate,
        EASEL_REPLICATE_BASE_URL: replicate.baseUrl,
        EASEL_BFL_API_KEY: KEYS.bfl,
        EASEL_BFL_BASE_URL: bfl.baseUrl,
        EASEL_MAX_ATTEMPTS: '1',
      },
    });
    key = await srv.createKey('progress-vendors', '10');
    other = await srv.createKey('progress-vendors-other', '10');
  });
  after(async () => {
    await srv.stop();
    await Promise.all([openai.close(), fal.close(), replicate.close(), bfl.close(), comfy.close(), a1111.close()]);
  });

  for (const c of CASES) {
    it(`${c.model}: polls and SSE see monotone progress${c.previews ? ', a preview downloads while running and not after' : ''}`, async () => {
      const created = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { model: c.model, prompt: `a harbour at dawn, by ${c.model}`, aspect_ratio: '1:1' }, headers: { prefer: 'wait=0' } });
      assert.equal(created.status, 202, created.text);
      const id = created.body.job_id as string;
      const streamed = readEvents(srv.baseUrl, `/v1/jobs/${id}/events`, key, { timeoutMs: 90_000 });

      const polled: Progress[] = [];
      let frame: { url: string; bytes: Buffer } | null = null;
      let job: any;
      for (;;) {
        job = (await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body;
        if (job.status !== 'pending' && job.status !== 'processing') break;
        const p = job.progress as Progress | undefined;
        if (p) {
          polled.push(p);
          if (p.preview_url && !frame) {
            const got = await download(p.preview_url);
            if (got.status === 200) {
              frame = { url: p.preview_url, bytes: got.bytes };
              assert.equal((await api(srv.baseUrl, 'GET', `/v1/jobs/${id}/preview`, { key: other })).status, 404, "another account never sees the frame");
            }
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(job.status, 'completed', JSON.stringify(job.error));
      assert.equal(job.progress, undefined);
      assert.ok(polled.length >= 2, `${c.model}: progress on ${polled.length} polls`);
      assertMonotone(polled, `${c.model} polls`);
      if (c.steps) assert.ok(polled.some((p) => p.steps && p.step != null && p.step > 0), `${c.model}: steps reported: ${JSON.stringify(polled)}`);

      const stream = await streamed;
      assert.equal(stream.ended, true);
      const sse = stream.events.filter((e) => e.event === 'job.progress').map((e) => JSON.parse(e.data).data.progress as Progress);
      assert.ok(sse.length >= 1, `${c.model}: progress events on the stream`);
      assertMonotone(sse, `${c.model} SSE`);
      assert.equal(stream.events.at(-1)!.event, 'job.completed');

      if (c.previews) {
        assert.ok(frame, `${c.model}: a preview was downloadable while running`);
        const meta = await sharp(frame.bytes).metadata();
        assert.equal(meta.format, 'webp');
        assert.ok(meta.width! > 0 && meta.width! <= 256);
        assert.equal((await download(frame.url)).status, 404, 'no preview after the end');
        assert.equal((await api(srv.baseUrl, 'GET', `/v1/jobs/${id}/preview`, { key })).status, 404);
      } else {
        assert.ok(polled.every((p) => p.preview_url === undefined), `${c.model} sends no frames: none is shown`);
      }
    });
  }
});

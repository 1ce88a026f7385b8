import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import sharp from 'sharp';
import { EaselProcess, MODE, api, download } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { assertSpecShape } from '../helpers/spec-shapes.js';
import { assertProcessShape } from '../helpers/process-shapes.js';
import { circleOnPlain, quadrants, serveImages } from '../helpers/images.js';
import { readDigitalSourceType } from '../../src/imaging/provenance.js';
import { TRAINED_ALGORITHMIC_MEDIA } from '../../src/imaging/xmp.js';
import { COMPOSITE_WITH_TRAINED } from '../../src/imaging/provenance-carry.js';
import { actionsOf, readC2pa, serverTrustAnchor } from '../helpers/c2pa.js';

describe(`processing jobs: history, ledger, provenance (${MODE})`, () => {
  let srv: EaselProcess;
  let key: string;
  let host: Awaited<ReturnType<typeof serveImages>>;
  let generated: { png: string; jpeg: string; webp: string };

  before(async () => {
    host = await serveImages({ 'quad.png': await quadrants(), 'circle.png': await circleOnPlain() });
    srv = await EaselProcess.start({ env: { EASEL_ALLOW_LOOPBACK_URLS: 'true' } });
    key = await srv.createKey('process-jobs', '1');
    const gen = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a lighthouse on a cliff at dusk' } });
    assert.equal(gen.status, 200, gen.text);
    generated = { png: gen.body.formats.png.url, jpeg: gen.body.formats.jpeg.url, webp: gen.body.formats.webp.url };
  });
  after(async () => {
    await srv.stop();
    await host.close();
  });

  const call = (op: string, body: Record<string, unknown>) => api(srv.baseUrl, 'POST', `/v1/process/${op}`, { key, body });
  const profile = async () => (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;

  it('costs nothing: balance and held amount are unchanged and the ledger has no rows for processing', async () => {
    const before_ = await profile();
    const auditBefore = await auditLedger(srv, 'process-jobs');
    const ops: [string, Record<string, unknown>][] = [
      ['crop', { x: 0, y: 0, width: 10, height: 10 }],
      ['resize', { width: 50 }],
      ['convert', { format: 'webp' }],
      ['remove-background', {}],
      ['crop', { x: 500, y: 0, width: 10, height: 10 }], // fails in the job: still free
    ];
    for (const [op, params] of ops) await call(op, { input_image_url: host.url(op === 'remove-background' ? 'circle.png' : 'quad.png'), ...params });
    const after_ = await profile();
    assert.deepEqual([after_.balance_eur, after_.held_eur], [before_.balance_eur, before_.held_eur]);
    const audit = await auditLedger(srv, 'process-jobs');
    assert.equal(audit.captures, auditBefore.captures, 'nothing captured');
    assert.equal(audit.ledgerAvailable, auditBefore.ledgerAvailable, 'no ledger movement');
    assert.deepEqual([audit.unbalancedTerminalJobs, audit.chargeMismatches], [[], []]);
    assert.equal(audit.available, audit.ledgerAvailable);
  });

  it('processing jobs are listed in GET /v1/jobs with their operation and the process result shape', async () => {
    const crop = await call('crop', { input_image_url: host.url('quad.png'), x: 0, y: 0, width: 20, height: 20 });
    const strip = await call('metadata-strip', { input_image_url: host.url('quad.png') });
    const bg = await call('remove-background', { input_image_url: host.url('circle.png') });
    const bad = await call('crop', { input_image_url: host.url('quad.png'), x: 0, y: 0, width: 900, height: 20 });
    for (const r of [crop, strip, bg]) assert.equal(r.status, 200, r.text);
    assert.equal(bad.status, 422);
    const list = await api(srv.baseUrl, 'GET', '/v1/jobs?limit=100', { key });
    assertSpecShape('jobList', list.body);
    const byId = new Map(list.body.generations.map((g: any) => [g.job_id, g]));
    const expect: [typeof crop, string][] = [
      [crop, 'process_crop'],
      [strip, 'process_metadata_strip'],
      [bg, 'process_remove_background'],
    ];
    for (const [res, operation] of expect) {
      const job: any = byId.get(res.body.job_id);
      assert.ok(job, `${operation} is listed`);
      assert.equal(job.operation, operation);
      assert.equal(job.status, 'completed');
      assertSpecShape('job', job);
      assertProcessShape(job.result);
      assert.equal(job.result.hash, res.body.hash);
      assert.equal(job.result.operation, res.body.operation);
      assert.equal(job.model, undefined, 'no model runs a processing job');
      assert.equal((await download(job.result.image_url)).status, 200);
    }
    const failed: any = byId.get(bad.body.details.job_id);
    assert.equal(failed.operation, 'process_crop');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'validation_failed');
    assertSpecShape('job', failed);
    const one = await api(srv.baseUrl, 'GET', `/v1/jobs/${bg.body.job_id}`, { key });
    assert.equal(one.status, 200);
    assert.equal(one.body.result.content_type, 'image/png');
  });

  it('keeps the AI provenance XMP of a generated image through every operation', async () => {
    assert.equal(await readDigitalSourceType((await download(generated.png)).bytes), TRAINED_ALGORITHMIC_MEDIA);
    const runs: [string, Record<string, unknown>][] = [
      ['crop', { input_image_url: generated.png, x: 10, y: 10, width: 200, height: 100 }],
      ['resize', { input_image_url: generated.jpeg, width: 300 }],
      ['rotate', { input_image_url: generated.png, angle: 15 }],
      ['flip', { input_image_url: generated.webp, direction: 'horizontal' }],
      ['trim', { input_image_url: generated.png }],
      ['adjust', { input_image_url: generated.png, saturation: -0.5 }],
      ['overlay', { input_image_url: generated.png, overlay_image_url: host.url('circle.png'), x: 5, y: 5, opacity: 0.5 }],
      ['metadata-strip', { input_image_url: generated.jpeg, keep_icc: false }],
      ['convert', { input_image_url: generated.png, format: 'avif' }],
      ['optimize', { input_image_url: generated.webp, target_bytes: 30_000 }],
    ];
    for (const [op, body] of runs) {
      const res = await call(op, body);
      assert.equal(res.status, 200, `${op}: ${res.text}`);
      const bytes = (await download(res.body.image_url)).bytes;
      assert.equal(await readDigitalSourceType(bytes), TRAINED_ALGORITHMIC_MEDIA, `${op} keeps trainedAlgorithmicMedia`);
      const xmp = (await sharp(bytes).metadata()).xmp!.toString('utf8');
      assert.match(xmp, /AISystemUsed="easel-sketch"/, `${op} keeps the model`);
      assert.match(xmp, new RegExp(`process ${op}`), `${op} records the processing step`);
    }
  });

  it('re-signs Content Credentials: the step as a C2PA action, the input as parent ingredient with its own manifest kept', async () => {
    const ca = serverTrustAnchor(srv.dataDir);
    const signed: [string, Record<string, unknown>, string, string][] = [
      ['crop', { input_image_url: generated.png, x: 10, y: 10, width: 200, height: 100 }, 'c2pa.cropped', 'png'],
      ['resize', { input_image_url: generated.jpeg, width: 300 }, 'c2pa.resized', 'jpeg'],
      ['rotate', { input_image_url: generated.png, angle: 90 }, 'c2pa.orientation', 'png'],
      ['flip', { input_image_url: generated.webp, direction: 'vertical' }, 'c2pa.orientation', 'webp'],
      ['adjust', { input_image_url: generated.png, brightness: 0.2 }, 'c2pa.color_adjustments', 'png'],
      ['convert', { input_image_url: generated.png, format: 'webp' }, 'c2pa.transcoded', 'webp'],
      ['overlay', { input_image_url: generated.png, overlay_image_url: host.url('circle.png'), x: 5, y: 5 }, 'c2pa.placed', 'png'],
    ];
    for (const [op, body, action, format] of signed) {
      const res = await call(op, body);
      assert.equal(res.status, 200, `${op}: ${res.text}`);
      const bytes = (await download(res.body.image_url)).bytes;
      const c = await readC2pa(bytes, format, ca);
      assert.equal(c.state, 'Trusted', `${op}: ${c.failures.join(', ')}`);
      const actions = actionsOf(c.manifest);
      assert.deepEqual(actions.map((x) => x.action), ['c2pa.opened', action], op);
      assert.equal(actions[1].digitalSourceType, undefined, `${op}: the step itself generated nothing`);
      assert.equal(actions[1].parameters['org.easel.operation'], op);
      const [parent, ...others] = c.manifest.ingredients;
      assert.equal(parent.relationship, 'parentOf');
      assert.equal(parent.title, 'input_image_url');
      assert.ok(parent.active_manifest, `${op}: the generated input's own manifest stays in the chain`);
      if (op === 'overlay') assert.deepEqual(others.map((i: any) => [i.relationship, i.title]), [['componentOf', 'overlay_image_url']]);
      assert.equal(res.body.hash, crypto.createHash('sha256').update(bytes).digest('hex'), `${op}: the hash is of the signed bytes`);
    }
    // Not re-signed: optimize (a manifest would break target_bytes), metadata-strip (least metadata asked for),
    // AVIF, and an input without provenance. All but the last still carry the XMP marking (previous test).
    const unsigned: [string, Record<string, unknown>, string][] = [
      ['optimize', { input_image_url: generated.webp, target_bytes: 30_000 }, 'webp'],
      ['metadata-strip', { input_image_url: generated.jpeg, keep_icc: false }, 'jpeg'],
      ['crop', { input_image_url: host.url('quad.png'), x: 0, y: 0, width: 50, height: 50 }, 'png'],
    ];
    for (const [op, body, format] of unsigned) {
      const res = await call(op, body);
      assert.equal(res.status, 200, `${op}: ${res.text}`);
      const bytes = (await download(res.body.image_url)).bytes;
      await assert.rejects(readC2pa(bytes, format, ca), `${op}: no manifest`);
    }
  });

  it('adds no provenance to an image without any; an AI overlay makes the result a composite', async () => {
    const plain = await call('crop', { input_image_url: host.url('quad.png'), x: 0, y: 0, width: 50, height: 50 });
    assert.equal(await readDigitalSourceType((await download(plain.body.image_url)).bytes), null);
    const composite = await call('overlay', { input_image_url: host.url('quad.png'), overlay_image_url: generated.png, x: 0, y: 0, opacity: 0.3 });
    assert.equal(composite.status, 200, composite.text);
    assert.equal(await readDigitalSourceType((await download(composite.body.image_url)).bytes), COMPOSITE_WITH_TRAINED);
  });
});

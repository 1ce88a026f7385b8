import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { EaselProcess, MODE, api, waitFor } from '../helpers/server.js';

/** The value of one series in a Prometheus text exposition (labels in any order), or undefined. */
function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const logLines = (p: EaselProcess) =>
  p.logs.flatMap((l) => l.split('\n')).flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

describe(`observability (${MODE})`, () => {
  // An API process and a worker process on one store: API-side figures on the API's /metrics,
  // provider figures on the worker's own /metrics, and one request id across both logs.
  const token = crypto.randomBytes(16).toString('hex');
  let apiProc: EaselProcess;
  let worker: EaselProcess;
  let key: string;
  let jobId: string;
  const rid = `trace-${crypto.randomBytes(6).toString('hex')}`;

  before(async () => {
    apiProc = await EaselProcess.start({ args: ['--no-worker'], env: { EASEL_METRICS_TOKEN: token } });
    // The renderer's first call fails (a retryable 503), so a provider error is counted too.
    worker = await EaselProcess.start({
      command: 'worker',
      sharedWith: apiProc,
      env: { EASEL_METRICS_PORT: '0', EASEL_METRICS_TOKEN: token, EASEL_SKETCH_FAILURES: '1', EASEL_RETRY_BASE_MS: '50' },
    });
    key = await apiProc.createKey('metrics', '2');
    const r = await api(apiProc.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a traced lighthouse' }, headers: { 'x-request-id': rid } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-request-id'), rid);
    jobId = r.headers.get('x-easel-job-id')!;
    await api(apiProc.baseUrl, 'GET', `/v1/jobs/${crypto.randomUUID()}`, { key });
  });
  after(async () => {
    await worker?.stop();
    await apiProc?.stop();
  });

  it('GET /metrics: token-protected, outside /v1; request, latency, job, queue and ledger figures', async () => {
    for (const auth of [undefined, 'Bearer wrong', `Basic ${token}`]) {
      const r = await api(apiProc.baseUrl, 'GET', '/metrics', auth ? { headers: { authorization: auth } } : {});
      assert.equal(r.status, 401);
      assert.equal(r.body.error, 'auth_invalid');
      assert.equal(r.body.request_id, r.headers.get('x-request-id'));
    }
    assert.equal((await api(apiProc.baseUrl, 'GET', '/v1/metrics', { key })).status, 404, 'never under /v1');
    const res = await api(apiProc.baseUrl, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const m = res.text;
    assert.equal(series(m, 'easel_http_requests_total', { method: 'POST', route: '/v1/generate/image', status: '200' }), 1);
    assert.equal(series(m, 'easel_http_requests_total', { method: 'GET', route: '/v1/jobs/:id', status: '404' }), 1);
    assert.equal(series(m, 'easel_http_request_duration_seconds_count', { method: 'POST', route: '/v1/generate/image', status: '200' }), 1);
    assert.equal(series(m, 'easel_jobs', { state: 'completed', operation: 'image' }), 1);
    assert.equal(series(m, 'easel_jobs', { state: 'pending', operation: 'all' }), 0);
    assert.equal(series(m, 'easel_queue_depth'), 0);
    assert.equal(series(m, 'easel_queue_oldest_ready_age_seconds'), 0);
    assert.equal(series(m, 'easel_ledger_micro_eur', { kind: 'grant' }), 2_000_000);
    assert.equal(series(m, 'easel_ledger_micro_eur', { kind: 'capture' }), 20_000);
    assert.equal(series(m, 'easel_balance_micro_eur', { kind: 'held' }), 0);
    assert.match(m, /# HELP easel_webhook_deliveries_total Webhook delivery attempts by outcome/);
    assert.ok(series(m, 'easel_process_resident_memory_bytes')! > 0, 'process metrics');
  });

  it('a worker serves its own /metrics: provider latency and errors by model', async () => {
    const metricsUrl = logLines(worker).find((l) => l.msg === 'worker metrics listening')!.metrics_url as string;
    assert.equal((await fetch(metricsUrl)).status, 401, 'the same token rule');
    const wm = await fetch(metricsUrl, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(wm.status, 200);
    const text = await wm.text();
    assert.equal(series(text, 'easel_provider_request_duration_seconds_count', { model: 'easel-sketch', operation: 'generate', outcome: 'ok' }), 1);
    assert.equal(series(text, 'easel_provider_request_duration_seconds_count', { model: 'easel-sketch', operation: 'generate', outcome: 'error' }), 1);
    assert.equal(series(text, 'easel_provider_errors_total', { model: 'easel-sketch', code: 'upstream_error' }), 1);
    assert.equal(series(text, 'easel_jobs', { state: 'completed', operation: 'all' }), 1);
    assert.equal((await fetch(metricsUrl.replace('/metrics', '/other'))).status, 404);
  });

  it('one request id joins the API’s and the worker’s log lines for a job', async () => {
    const accepted = logLines(apiProc).find((l) => l.reqId === rid && l.job_id === jobId);
    assert.ok(accepted, 'the API logs the job id under the request id at accept');
    const workerLines = await waitFor(async () => {
      const ls = logLines(worker).filter((l) => l.job_id === jobId);
      return ls.some((l) => l.msg === 'job finished') ? ls : null;
    }, 10_000, 50);
    const started = workerLines.filter((l) => l.msg === 'job started');
    const finished = workerLines.find((l) => l.msg === 'job finished')!;
    assert.ok(started.length >= 1);
    for (const l of started) assert.equal(l.reqId, rid, 'the worker logs the request id at every start (the first attempt failed and was retried)');
    assert.equal(finished.reqId, rid, 'and at finish');
    assert.notEqual(finished.pid, accepted.pid, 'two processes, one request id');
  });
});

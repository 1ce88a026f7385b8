/**
 * Where the CPU of one status poll goes, measured in-process (fastify's inject, no sockets, no load
 * generator) so it does not depend on how much of a core the server gets on a busy machine:
 *   bare        a bare fastify route returning a string (fastify + inject's own cost)
 *   public      Easel's GET /v1/pricing: every global hook (request id, security headers, rate-limit
 *               check, metrics, access log) and a trivial handler
 *   poll        Easel's GET /v1/jobs/{id} on a completed image job
 *   read        JobService.getForAccount alone (the job row)
 *   present     Presenter.job alone (parse the stored result, sign 3 URLs)
 * so that poll − public − read − present ≈ authentication (key lookup) + per-key rate limit + serialisation.
 * Used by bench/suite.ts for the status-poll row's notes; runnable alone:
 *   EASEL_TEST_MODE=embedded node --import tsx bench/poll-breakdown.ts
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { pino } from 'pino';
import { EaselProcess, MODE } from '../test/helpers/server.js';

export interface Breakdown {
  bare: number;
  public: number;
  poll: number;
  read: number;
  present: number;
  /** poll − public − read − present */
  authAndRest: number;
}

/** CPU µs per call: the median of 3 timed batches of `n`, after a warm-up batch. */
async function cpuUs(n: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(n, 300); i++) await fn();
  const batches: number[] = [];
  for (let b = 0; b < 3; b++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await fn();
    const c = process.cpuUsage(c0);
    batches.push((c.user + c.system) / n);
  }
  return batches.sort((a, b) => a - b)[1]!;
}

export async function pollBreakdown(n: number): Promise<Breakdown> {
  // A server process creates (and, in scale-out, owns) the database and bucket; the app then runs in this process.
  const helper = await EaselProcess.start({ args: ['--no-worker'] });
  await helper.kill('SIGTERM');
  const saved = { ...process.env };
  Object.assign(process.env, helper.processEnv, { EASEL_RATE_LIMIT_PER_MIN: '10000000', EASEL_LOG_LEVEL: 'info' });
  try {
    const { loadConfig } = await import('../src/config.js');
    const { createServices, startWorkers } = await import('../src/app.js');
    const { buildServer } = await import('../src/api/server.js');
    const { createKey } = await import('../src/accounts/accounts.js');
    const config = loadConfig({});
    // The server's logger options, writing to /dev/null instead of a pipe.
    const log = pino(
      { level: 'info', base: { pid: process.pid, service: 'easel' }, redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.authorization'], censor: '[redacted]' } },
      pino.destination({ dest: '/dev/null', sync: true }),
    );
    const s = await createServices(config, log);
    try {
      const app = await buildServer(s);
      await app.ready();
      const worker = startWorkers(s);
      const k = await createKey(s.db, { name: 'bench-breakdown', creditsMicros: 100_000_000 });
      const headers = { authorization: `Bearer ${k.key}` };
      const gen = await app.inject({ method: 'POST', url: '/v1/generate/image', headers: { ...headers, 'content-type': 'application/json' }, payload: { prompt: 'a lighthouse on a cliff at dusk' } });
      if (gen.statusCode !== 200) throw new Error(`generate: ${gen.statusCode} ${gen.body}`);
      const id = (gen.json() as { id: string }).id;
      await worker.stop(1000);
      const row = (await s.jobs.getForAccount(id, k.accountId))!;
      const body = (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers })).body;
      const bare = Fastify({ logger: false });
      bare.get('/job', async (_req, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(body));
      await bare.ready();

      const r: Omit<Breakdown, 'authAndRest'> = {
        bare: await cpuUs(n, () => bare.inject({ method: 'GET', url: '/job' })),
        public: await cpuUs(n, () => app.inject({ method: 'GET', url: '/v1/pricing' })),
        poll: await cpuUs(n, () => app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers })),
        read: await cpuUs(n, () => s.jobs.getForAccount(id, k.accountId)),
        present: await cpuUs(n, () => s.presenter.job(row)),
      };
      await app.close();
      await bare.close();
      return { ...r, authAndRest: r.poll - r.public - r.read - r.present };
    } finally {
      await s.close();
    }
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await helper.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const b = await pollBreakdown(Number(process.env.BENCH_BREAKDOWN_N ?? 2000));
  console.log(MODE, Object.fromEntries(Object.entries(b).map(([k, v]) => [k, `${v.toFixed(0)} µs`])));
  process.exit(0);
}

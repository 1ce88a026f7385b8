/**
 * One status poll, in a loop, in-process (fastify inject) — for a CPU profile of Easel's own
 * per-request stack: `EASEL_TEST_MODE=embedded node --cpu-prof --cpu-prof-dir=DIR --import tsx bench/poll-loop.ts`,
 * then `node --import tsx bench/lib/cpuprofile.ts DIR/<file>.cpuprofile`. POLL_LOOP_N polls (default 20 000).
 */
import { pino } from 'pino';
import { EaselProcess } from '../test/helpers/server.js';

const N = Number(process.env.POLL_LOOP_N ?? 20_000);
const helper = await EaselProcess.start({ args: ['--no-worker'] });
await helper.kill('SIGTERM');
Object.assign(process.env, helper.processEnv, { EASEL_RATE_LIMIT_PER_MIN: '10000000', EASEL_LOG_LEVEL: 'info' });
const { loadConfig } = await import('../src/config.js');
const { createServices, startWorkers } = await import('../src/app.js');
const { buildServer } = await import('../src/api/server.js');
const { createKey } = await import('../src/accounts/accounts.js');
const log = pino(
  { level: 'info', base: { pid: process.pid, service: 'easel' }, redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.authorization'], censor: '[redacted]' } },
  pino.destination({ dest: '/dev/null', sync: true }),
);
const s = await createServices(loadConfig({}), log);
const app = await buildServer(s);
await app.ready();
const worker = startWorkers(s);
const k = await createKey(s.db, { name: 'poll-loop', creditsMicros: 100_000_000 });
const headers = { authorization: `Bearer ${k.key}` };
const gen = await app.inject({ method: 'POST', url: '/v1/generate/image', headers: { ...headers, 'content-type': 'application/json' }, payload: { prompt: 'a lighthouse on a cliff at dusk' } });
const id = (gen.json() as { id: string }).id;
await worker.stop(1000);
for (let i = 0; i < 2000; i++) await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers });
const c0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < N; i++) await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers });
const c = process.cpuUsage(c0);
console.log(`${N} polls: ${((c.user + c.system) / N).toFixed(1)} µs CPU each, ${(((performance.now() - t0) * 1000) / N).toFixed(1)} µs wall`);
await app.close();
await s.close();
await helper.stop();

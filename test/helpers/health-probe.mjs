// Times GET <base>/health every <interval> ms over one kept-alive connection until stdin closes,
// then prints the latencies (ms) as one JSON array. A process of its own, so the load a test
// generates in its own process (sending uploads) does not slow the measurement.
import http from 'node:http';

const [base, intervalArg] = process.argv.slice(2);
const interval = Number(intervalArg ?? 100);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const samples = [];
let done = false;
process.stdin.on('end', () => (done = true));
process.stdin.resume();

const once = () =>
  new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    http
      .get(`${base}/health`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t) / 1e6, status: res.statusCode }));
      })
      .on('error', reject);
  });

while (!done) {
  const started = Date.now();
  const r = await once();
  samples.push(r);
  await new Promise((r2) => setTimeout(r2, Math.max(0, interval - (Date.now() - started))));
}
process.stdout.write(JSON.stringify(samples));
agent.destroy();

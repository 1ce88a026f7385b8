// `node --cpu-prof` for processes we do not spawn ourselves: --cpu-prof is refused in NODE_OPTIONS,
// but `NODE_OPTIONS=--import=<this file>` is not. Starts V8's CPU profiler (the one --cpu-prof uses)
// and writes CPU.<pid>.<time>.cpuprofile into BENCH_CPU_PROF_DIR when the process exits.
import fs from 'node:fs';
import path from 'node:path';
import inspector from 'node:inspector';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    // An in-process session answers synchronously, so this works inside an 'exit' handler.
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `CPU.${process.pid}.${Date.now()}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}

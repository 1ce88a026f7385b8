import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MODE, ROOT } from '../helpers/server.js';
import { FAULT_MODE, OUTAGE_MS, formatFaultReport, runFault, type FaultName, type FaultReport } from '../../scripts/fault-run.js';

/**
 * Dependencies going away under a running mixed workload (scripts/fault-run.ts; by hand:
 * `npm run chaos -- --faults db,db-hang,s3,redis,disk,sqlite`). Scale-out: PostgreSQL restarted (a cluster of
 * the test's own), the same cluster frozen (SIGSTOP, connections left open), S3 unreachable for 30 s (at a proxy in front of the shared Swift), Redis stopped.
 * Embedded: the data directory's disk full (a tmpfs), SQLite locked by another connection, Redis
 * stopped. Each: no accepted job lost or failed, no image generated twice, the ledger exact, every
 * answer meanwhile a success or a 503 with Retry-After (never a 500, never a hang), service back after.
 */
const faults = (Object.keys(FAULT_MODE) as FaultName[]).filter((f) => FAULT_MODE[f] === null || FAULT_MODE[f] === MODE);
const reports: FaultReport[] = [];

describe(`dependency faults under load (${MODE})`, () => {
  after(() => {
    fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'test-artifacts', `dependency-faults-${MODE}.json`), JSON.stringify(reports, null, 2));
  });

  for (const fault of faults) {
    it(`${fault} away for ${OUTAGE_MS[fault] / 1000} s: nothing lost or charged twice, 503 + Retry-After meanwhile (never 500 or a hang), back by itself`, async (t) => {
      const r = await runFault({ fault, mode: MODE, log: (l) => t.diagnostic(l) });
      reports.push(r);
      for (const line of formatFaultReport(r).split('\n')) t.diagnostic(line);
      assert.deepEqual(r.violations, []);
      assert.ok(r.jobs.completed >= 5, `work got done (${r.jobs.completed} jobs)`);
      assert.equal(r.jobs.completed, r.jobs.accepted);
      assert.equal(r.jobs.lost, 0);
      assert.equal(r.doubleCharges, 0);
      assert.equal(r.providerCalls.repeated, 0);
      assert.ok(r.recoveryMs !== null);
      if (fault === 'redis') assert.equal(r.duringOutage.unavailable, 0, 'Redis down costs no request');
      else assert.ok(r.duringOutage.unavailable > 0, 'requests that needed the dependency answered 503 while it was down');
    });
  }
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MODE, ROOT } from '../helpers/server.js';
import { formatReport, runChaos } from '../../scripts/chaos.js';

/**
 * A CI-sized chaos run (scripts/chaos.ts; `npm run chaos` runs it longer): 2 API + 2 worker
 * processes under a mixed workload, processes SIGKILLed at random moments and at named crash
 * points, restarted; then nothing lost, nothing generated twice, the ledger exact, every result
 * downloadable.
 */
const SECONDS = Number(process.env.CHAOS_TEST_SECONDS ?? 20);

describe(`chaos (${MODE})`, () => {
  it(`${SECONDS} s of random SIGKILLs of API and worker processes: every job terminal and completed, no step twice, ledger exact, results downloadable`, async (t) => {
    const report = await runChaos({ seconds: SECONDS, log: (l) => t.diagnostic(l) });
    for (const line of formatReport(report).split('\n')) t.diagnostic(line);
    fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'test-artifacts', `chaos-${MODE}.json`), JSON.stringify(report, null, 2));
    assert.deepEqual(report.violations, []);
    assert.ok(report.kills.worker >= 1 && report.kills.api >= 1, 'both kinds of process were killed');
    assert.ok(report.jobs.completed >= 5, `work got done (${report.jobs.completed} jobs)`);
    assert.equal(report.jobs.completed, report.jobs.accepted);
    assert.ok(report.downloads >= report.jobs.completed);
  });
});

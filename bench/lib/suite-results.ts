/**
 * The rows of one `npm run bench` mode (bench/suite.ts) as bench/results.json rows (issue 26):
 * one object per figure a regression would be judged by, `{id, mode, value, unit, anchor, ratio,
 * target, met}`. A row the suite could not measure is still present, with `value: null` and
 * `met: null`, so "every row present" is checkable and a missing figure is visible, not silent.
 */
import type { Row, SuiteResult } from '../suite.js';
import type { ResultRow } from './results.js';

/** The ids issue 26 names, then the rows of fair dispatch, the fleet and batches. */
export const SUITE_RESULT_IDS = [
  'poll_vs_floor',
  'poll_vs_bare',
  'poll_p99_ms',
  'throughput_vs_image_work',
  'throughput_vs_queue',
  'story_overhead_ms',
  'files',
  'rss_loaded_mb',
  'rss_after_work_mb',
  'fair_wait_p95',
  'fair_jain',
  'fair_claim_cost',
  'fleet_dispatch',
  'batch_cpu',
] as const;
export type SuiteResultId = (typeof SUITE_RESULT_IDS)[number];

/** The targets of issue 26 where it sets one; the earlier issues' otherwise. */
export const TARGETS = {
  pollVsFloor: 0.8,
  pollP99Ms: 10,
  throughputVsImageWork: 0.9,
  storyOverheadMs: 120,
  rssAfterWorkMb: 300,
} as const;

type Out = Omit<ResultRow, 'mode'>;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const ratioOf = (v: number | null, a: number | null) => (v == null || a == null || a === 0 ? null : r3(v / a));

function row(id: SuiteResultId, value: number | null, unit: string, anchor: number | null, ratio: number | null, target: string, met: boolean | null): Out {
  return { id, value: value == null ? (null as unknown as number) : r3(value), unit, anchor: anchor == null ? null : r3(anchor), ratio, target, met: value == null ? null : met };
}

type Data = Record<string, any>;

/** Each suite row gives the result rows it holds the figures of. */
const FROM: Record<Row['id'], (d: Data, r: Row) => Out[]> = {
  poll: (d) => {
    const vsFloor = d.easelVsFloor?.rps ?? null;
    const floor = d.floor?.rps ?? null;
    // p99 of Easel in the floor pairing and in the bare pairing: the worse of the two is reported.
    const p99s = [d.easelVsFloor?.p99Ms, d.easel?.p99Ms].filter((x): x is number => typeof x === 'number');
    const p99 = p99s.length ? Math.max(...p99s) : null;
    return [
      row('poll_vs_floor', vsFloor, 'req/s', floor, ratioOf(vsFloor, floor), `≥ ${TARGETS.pollVsFloor}`, ratioOf(vsFloor, floor) != null && ratioOf(vsFloor, floor)! >= TARGETS.pollVsFloor),
      row('poll_vs_bare', d.easel?.rps ?? null, 'req/s', d.anchor?.rps ?? null, ratioOf(d.easel?.rps ?? null, d.anchor?.rps ?? null), '—', null),
      row('poll_p99_ms', p99, 'ms', d.floor?.p99Ms ?? null, ratioOf(p99, d.floor?.p99Ms ?? null), `< ${TARGETS.pollP99Ms} ms`, p99 != null && p99 < TARGETS.pollP99Ms),
    ];
  },
  throughput: (d) => {
    const rate = d.http?.rate ?? null;
    const work = d.pipeline?.rate ?? null;
    const queue = d.raw?.rate ?? null;
    const vsWork = ratioOf(rate, work);
    const vsQueue = ratioOf(rate, queue);
    return [
      row('throughput_vs_image_work', rate, 'jobs/s', work, vsWork, `≥ ${TARGETS.throughputVsImageWork}`, vsWork != null && vsWork >= TARGETS.throughputVsImageWork),
      row('throughput_vs_queue', rate, 'jobs/s', queue, vsQueue, '≥ 0.5', vsQueue != null && vsQueue >= 0.5),
    ];
  },
  story: (d) => {
    const over = typeof d.median === 'number' && typeof d.critical === 'number' ? d.median - d.critical : null;
    return [row('story_overhead_ms', over, 'ms above the critical path', d.critical ?? null, ratioOf(d.median ?? null, d.critical ?? null), `≤ ${TARGETS.storyOverheadMs} ms`, over != null && over <= TARGETS.storyOverheadMs)];
  },
  files: (d, r) => [row('files', d.easel?.bytesPerSec != null ? d.easel.bytesPerSec / 2 ** 20 : null, 'MiB/s', d.anchor?.bytesPerSec != null ? d.anchor.bytesPerSec / 2 ** 20 : null, r.ratio == null ? null : r3(r.ratio), r.target, r.met)],
  memory: (d, r) => {
    const mb = (b: unknown) => (typeof b === 'number' ? b / 1e6 : null);
    const after = mb(d.afterWorkBytes);
    return [
      row('rss_loaded_mb', mb(d.loadedBytes), 'MB', mb(d.emptyBytes), ratioOf(mb(d.loadedBytes), mb(d.emptyBytes)), r.target, r.met),
      row('rss_after_work_mb', after, 'MB', mb(d.loadedBytes), ratioOf(after, mb(d.loadedBytes)), `≤ ${TARGETS.rssAfterWorkMb} MB`, after != null && after <= TARGETS.rssAfterWorkMb),
    ];
  },
  // Rows whose figure is itself a ratio (their anchor is inside it): value = ratio.
  fairwait: (_d, r) => [row('fair_wait_p95', r.ratio, '× service time', null, r.ratio == null ? null : r3(r.ratio), r.target, r.met)],
  jain: (_d, r) => [row('fair_jain', r.ratio, 'index', null, r.ratio == null ? null : r3(r.ratio), r.target, r.met)],
  claimcost: (d, r) => [row('fair_claim_cost', d.large?.medianMs ?? null, 'ms', d.small?.medianMs ?? null, r.ratio == null ? null : r3(r.ratio), r.target, r.met)],
  fleet: (_d, r) => [row('fleet_dispatch', r.ratio, '× anchor rate (worst K)', null, r.ratio == null ? null : r3(r.ratio), r.target, r.met)],
  batchcpu: (_d, r) => [row('batch_cpu', r.ratio, '× single-job CPU per item', null, r.ratio == null ? null : r3(r.ratio), r.target, r.met)],
};

/** Which result ids each suite row yields (for the rows a run skipped or failed). */
const IDS_OF: Record<Row['id'], SuiteResultId[]> = {
  poll: ['poll_vs_floor', 'poll_vs_bare', 'poll_p99_ms'],
  throughput: ['throughput_vs_image_work', 'throughput_vs_queue'],
  story: ['story_overhead_ms'],
  files: ['files'],
  memory: ['rss_loaded_mb', 'rss_after_work_mb'],
  fairwait: ['fair_wait_p95'],
  jain: ['fair_jain'],
  claimcost: ['fair_claim_cost'],
  fleet: ['fleet_dispatch'],
  batchcpu: ['batch_cpu'],
};

export function suiteResultRows(res: SuiteResult): ResultRow[] {
  const out: ResultRow[] = [];
  for (const r of res.rows) {
    const rows = r.error || r.todo ? IDS_OF[r.id].map((id) => row(id, null, '', null, null, '', null)) : FROM[r.id](r.data as Data, r);
    for (const x of rows) out.push({ ...x, mode: res.mode, ...(res.smoke ? { smoke: true } : {}) });
  }
  return out;
}

import type { Db } from '../store/db.js';
import type { JobRow } from './row.js';
import type { JobQueue } from '../queue/port.js';
import { laneOf, type Lane } from '../queue/lanes.js';

/** How many recent completions of an operation and model a duration is measured from. */
const SAMPLE = 20;
/** Older completions say little about today's providers and load. */
const HORIZON_MS = 7 * 86_400_000;
const CACHE_MS = 5_000;

export interface QueueEstimate {
  queue_position: number | null;
  estimated_start_at: number | null;
  estimated_completed_at: number | null;
}

type Kind = { operation: string; model: string | null; scenes_total: number };
type RunningJob = Kind & { started_at: number | string | null };

/**
 * Queue position and ETA from measured durations, never from guesses: the median run time
 * (started → completed) of the last completed jobs of the same operation and model, per scene
 * for stories (a story of 6 scenes is expected to take 6 × the per-scene median). When any job
 * the estimate depends on has no history, the estimate is null.
 * The position is the job's place in the fair order (src/queue/fair-position.ts); start times
 * assume the configured worker slots serve the jobs ahead of it, each taking as long as this one
 * — an estimate, documented in docs/JOBS.md.
 */
export class EtaEstimator {
  private readonly cache = new Map<string, { at: number; perUnitMs: number | null }>();

  constructor(
    private readonly db: Db,
    /** Worker slots of the paid lane; `processSlots` those of the free processing lane (src/queue/lanes.ts). */
    private readonly slots: number,
    private readonly queue: Pick<JobQueue, 'position' | 'positions'>,
    private readonly processSlots: number = slots,
  ) {}

  /** Expected run time of one job, or null without history. */
  async durationMs(k: Kind): Promise<number | null> {
    const key = `${k.operation}|${k.model ?? ''}`;
    const hit = this.cache.get(key);
    const now = Date.now();
    let perUnit = hit && now - hit.at < CACHE_MS ? hit.perUnitMs : undefined;
    if (perUnit === undefined) {
      let q = this.db
        .selectFrom('jobs')
        .select(['started_at', 'completed_at', 'scenes_total'])
        .where('status', '=', 'completed')
        .where('operation', '=', k.operation)
        .where('completed_at', '>', now - HORIZON_MS)
        .where('started_at', 'is not', null);
      q = k.model === null ? q.where('model', 'is', null) : q.where('model', '=', k.model);
      const rows = await q.orderBy('completed_at', 'desc').limit(SAMPLE).execute();
      const units = rows.map((r) => (Number(r.completed_at) - Number(r.started_at)) / unitsOf(r.scenes_total)).sort((a, b) => a - b);
      perUnit = units.length === 0 ? null : units[Math.floor(units.length / 2)]!;
      // "No history" is not cached: the first completion should show at once.
      if (perUnit !== null) this.cache.set(key, { at: now, perUnitMs: perUnit });
    }
    return perUnit === null ? null : perUnit * unitsOf(k.scenes_total);
  }

  async estimate(job: JobRow, now = Date.now()): Promise<QueueEstimate> {
    if (job.status !== 'pending') return this.estimateKnown(job, null, null, now);
    return this.estimateKnown(job, await this.queue.position(job.id), null, now);
  }

  /**
   * The estimates of a page of jobs (`GET /v1/jobs`): the same numbers as `estimate` for each, with
   * the queue positions read together (src/queue/fair-position.ts) and the running jobs read once.
   */
  async estimateMany(jobs: readonly JobRow[], now = Date.now()): Promise<Map<string, QueueEstimate>> {
    const out = new Map<string, QueueEstimate>();
    const pending = jobs.filter((j) => j.status === 'pending');
    const positions = pending.length > 0 ? await this.queue.positions(pending.map((j) => j.id)) : new Map<string, number | null>();
    let running: RunningJob[] | null = null;
    for (const j of jobs) {
      if (j.status !== 'pending' && j.status !== 'processing') continue;
      const position = positions.get(j.id) ?? null;
      if (j.status === 'pending' && position !== null) running ??= await this.running();
      out.set(j.id, await this.estimateKnown(j, position, running, now));
    }
    return out;
  }

  private async running(): Promise<RunningJob[]> {
    return this.db.selectFrom('jobs').select(['operation', 'model', 'scenes_total', 'started_at']).where('status', '=', 'processing').execute();
  }

  private async estimateKnown(job: JobRow, position: number | null, allRunning: RunningJob[] | null, now: number): Promise<QueueEstimate> {
    if (job.status === 'processing') {
      const d = await this.durationMs(job);
      const started = Number(job.started_at ?? now);
      // An overdue job is expected "now": we cannot know how late it will be.
      return { queue_position: null, estimated_start_at: null, estimated_completed_at: d === null ? null : Math.max(now, started + d) };
    }
    if (job.status !== 'pending') return { queue_position: null, estimated_start_at: null, estimated_completed_at: null };
    // Between its claim and its start transition a pending job has no place in the queue: it is starting.
    if (position === null) return { queue_position: null, estimated_start_at: null, estimated_completed_at: null };
    // Only the job's own lane stands between it and a slot: its running jobs, its slots.
    const lane: Lane = laneOf(job.operation);
    const running = (allRunning ?? (await this.running())).filter((r) => laneOf(r.operation) === lane);
    const own = await this.durationMs(job);
    const slots = Math.max(1, lane === 'process' ? this.processSlots : this.slots);
    let startAt: number | null = now;
    if (running.length + position > slots) {
      // Work standing between this job and a free slot, shared by the slots: what runs now, and the
      // jobs that start first (assumed to take as long as this one: their kinds are other accounts' business).
      if (own === null) return { queue_position: position, estimated_start_at: null, estimated_completed_at: null };
      let work = own * (position - 1);
      for (const r of running) {
        const d = await this.durationMs(r);
        if (d === null) return { queue_position: position, estimated_start_at: null, estimated_completed_at: null };
        work += Math.max(0, Number(r.started_at ?? now) + d - now);
      }
      startAt = now + work / slots;
    } else if (own === null) startAt = null;
    return { queue_position: position, estimated_start_at: startAt, estimated_completed_at: startAt === null || own === null ? null : startAt + own };
  }
}

function unitsOf(scenesTotal: number): number {
  return Math.max(1, Number(scenesTotal));
}

import { displayStatus, type Job } from '../../sdk/index.js';
import { ttyBar } from './progress.js';
import { fractionEta } from './eta.js';
import { plainProgressLines } from './step-lines.js';

/**
 * Live progress of a single picture (issue 22): the job's `progress` (stage, step/steps,
 * fraction) as the server reports it, on stderr so stdout stays the result.
 */
export interface StepProgress {
  update(job: Job): void;
  stop(): void;
}

/**
 * In a terminal a cli-progress bar redrawn in place, `sampling   [####------] 45% | step 9/20 |
 * ETA 2s`; anywhere else (a pipe, a log, CI) `plainProgressLines`.
 */
export function stepProgress(stream: NodeJS.WriteStream = process.stderr): StepProgress {
  if (!stream.isTTY) {
    const line = plainProgressLines();
    return {
      update(job) {
        const l = line(job);
        if (l) stream.write(l + '\n');
      },
      stop() {},
    };
  }
  const bar = ttyBar(stream, '{stage} [{bar}] {percentage}% | {detail} | ETA {eta_text}');
  const eta = fractionEta();
  let started = false;
  let detail = '—';
  return {
    update(job) {
      const p = job.progress;
      const done = job.status === 'completed';
      // Before the backend reports (waiting for a worker) and at the end: the job's status.
      const stage = p ? p.stage : done ? 'done' : displayStatus(job);
      const value = done ? 100 : Math.round((p?.fraction ?? 0) * 100);
      const queued = p?.queue_position ?? job.queue_position;
      // At the end the last step shown stays (the finished job carries no progress).
      detail = p?.step != null && p.steps ? `step ${p.step}/${p.steps}` : queued != null ? `queue #${queued}` : done ? detail : '—';
      const payload = { stage: stage.padEnd(10), detail, eta_text: done ? '0s' : p ? eta(p.fraction) : '--' };
      if (!started) {
        bar.start(100, value, payload);
        started = true;
      } else bar.update(value, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

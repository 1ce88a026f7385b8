import cliProgress from 'cli-progress';
import { displayStatus, type Job } from '../../sdk/index.js';
import { formatSeconds } from './eta.js';
import { plainProgressLines, stageText } from './step-lines.js';

export { formatSeconds } from './eta.js';

/** The one look of every progress bar the CLI draws in a terminal (stories, batches). */
export function ttyBar(stream: NodeJS.WriteStream, format: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar({ stream, format, barCompleteChar: '#', barIncompleteChar: '-', hideCursor: true, fps: 10 }, cliProgress.Presets.legacy);
}

export interface SceneProgress {
  update(job: Job): void;
  stop(): void;
}

/**
 * Scenes completed / total while a story runs, on stderr. In a terminal: a cli-progress bar with
 * ETA, redrawn in place, its status column naming the step within the scene being drawn
 * (`processing · scene 2 sampling 5/20`). Anywhere else (a pipe, a log file, CI): one plain line
 * per change, `portraits 1/3` while the character portraits are drawn, then `scenes 2/4`, and the
 * scene's step lines (`scene 2/4 sampling 40% step 10/20`, see plainProgressLines), so logs stay readable.
 */
export function sceneProgress(stream: NodeJS.WriteStream = process.stderr): SceneProgress {
  if (stream.isTTY) {
    const bar = ttyBar(stream, 'scenes [{bar}] {value}/{total} | {percentage}% | ETA {eta_text} | {status}');
    let started = false;
    // The ETA is our own: time per scene finished since we started watching (a resumed story
    // starts part-way; the reference portraits before scene 1 count towards the first scene).
    let t0 = 0;
    let v0 = 0;
    const eta = (value: number, total: number) => {
      if (value >= total) return '0s';
      if (value <= v0) return '--';
      return formatSeconds((((Date.now() - t0) / (value - v0)) * (total - value)) / 1000);
    };
    return {
      update(job) {
        const total = Math.max(job.scenes_total, 1);
        const payload = { status: phaseText(job), eta_text: '' };
        if (!started) {
          t0 = Date.now();
          v0 = job.scenes_completed;
          payload.eta_text = eta(job.scenes_completed, total);
          bar.start(total, job.scenes_completed, payload);
          started = true;
        } else {
          payload.eta_text = eta(job.scenes_completed, total);
          bar.setTotal(total);
          bar.update(job.scenes_completed, payload);
        }
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = '';
  const steps = plainProgressLines();
  return {
    update(job) {
      const line = job.phase === 'portraits' ? `portraits ${job.portraits_completed ?? 0}/${job.portraits_total ?? 0}` : `scenes ${job.scenes_completed}/${job.scenes_total}`;
      if (line !== last) stream.write(line + '\n');
      last = line;
      const step = steps(job);
      if (step) stream.write(step + '\n');
    },
    stop() {},
  };
}

/**
 * The status column: while portraits are drawn the scene bar cannot move, so say what is
 * happening; while a scene is drawn, its step (the bar counts whole scenes only).
 */
function phaseText(job: Job): string {
  if (job.phase === 'portraits') return `drawing character portraits ${job.portraits_completed ?? 0}/${job.portraits_total ?? 0}`;
  const p = job.status === 'processing' ? job.progress : undefined;
  if (p) return `${displayStatus(job)} · ${p.scene != null ? `scene ${p.scene} ` : ''}${stageText(p)}`;
  return displayStatus(job);
}

import type { BlobStore } from '../blob/port.js';
import type { Catalogue } from '../providers/catalogue.js';
import type { JobService } from '../jobs/service.js';
import type { JobRow } from '../jobs/row.js';
import type { Moderator } from '../moderation/moderator.js';
import type { Db } from '../store/db.js';
import type { InputResolver } from './inputs.js';
import type { Fence } from '../jobs/transitions/context.js';
import type { ProcessChildPool } from './process/child-pool.js';
import type { ProcessBudgets } from './process/budgets.js';
import type { ProgressReporter } from '../progress/reporter.js';

/** What every pipeline may use; built once in app.ts. */
export interface PipelineDeps {
  db: Db;
  blob: BlobStore;
  catalogue: Catalogue;
  jobs: JobService;
  moderator: Moderator;
  inputs: InputResolver;
  /** Where free processing runs, under which budgets (src/pipelines/process/child-pool.ts); absent: in this process, unbudgeted. */
  imageWork?: { pool: ProcessChildPool; budgets: ProcessBudgets };
}

export interface PipelineRun {
  /** The job as its start left it (status processing; `attempts` counts this run). */
  job: JobRow;
  /** The claim this run holds: every transition it makes (jobs.recordStep, jobs.complete, …) passes it. */
  fence: Fence;
  signal: AbortSignal;
  /** Where this attempt's live progress goes (src/progress/reporter.ts): hand `progress.sink()` to the provider. */
  progress?: ProgressReporter;
}

/**
 * A pipeline runs one job to completion (calling jobs.complete with its fence) or throws a
 * JobFailure; a LeaseLost from a transition means another worker owns the job now.
 */
export type Pipeline = (deps: PipelineDeps, run: PipelineRun) => Promise<void>;

import type { BlobStore } from '../blob/port.js';
import type { Catalogue } from '../providers/catalogue.js';
import type { JobService } from '../jobs/service.js';
import type { JobRow } from '../jobs/row.js';
import type { Moderator } from '../moderation/moderator.js';
import type { Db } from '../store/db.js';
import type { InputResolver } from './inputs.js';

/** What every pipeline may use; built once in app.ts. */
export interface PipelineDeps {
  db: Db;
  blob: BlobStore;
  catalogue: Catalogue;
  jobs: JobService;
  moderator: Moderator;
  inputs: InputResolver;
}

export interface PipelineRun {
  job: JobRow;
  signal: AbortSignal;
}

/** A pipeline runs one job to completion (calling jobs.complete) or throws a JobFailure. */
export type Pipeline = (deps: PipelineDeps, run: PipelineRun) => Promise<void>;

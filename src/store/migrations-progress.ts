import type { Kysely, Migration } from 'kysely';

/**
 * Live progress (issue 22). What the running attempt last reported (stage, step, fraction, the
 * current preview's key) as JSON on the job row itself: a poll already reads that row, so showing
 * progress costs a poll nothing, and the worker's write is one fenced UPDATE of a column no index
 * covers. Cleared when an attempt starts and when the job ends; never history, only "now".
 */
export const progressMigrations: Record<string, Migration> = {
  '0016_job_progress': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('jobs').addColumn('progress_json', 'text').execute();
    },
  },
};

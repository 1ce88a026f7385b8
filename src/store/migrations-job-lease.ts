import type { Kysely, Migration } from 'kysely';

/**
 * The job row carries the fencing token of the claim that owns it (set by the start transition,
 * cleared when the job settles or is given back), and a story's plan, computed once at submit.
 */
export const jobLeaseMigrations: Record<string, Migration> = {
  '0009_job_lease_token_and_plan': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('jobs').addColumn('lease_token', 'text').execute();
      await db.schema.alterTable('jobs').addColumn('plan_json', 'text').execute();
    },
  },
};

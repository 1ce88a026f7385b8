import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Fleets (issue 19): every self-hosted or hosted endpoint Easel sends generations to is a row in
 * `backends`, shared by every process — its capacity, health, latency, what model it has loaded —
 * and every call in flight holds a row in `backend_leases`, so a backend's concurrency limit holds
 * across all worker processes. A lease outlives a crashed process only until `expires_at`.
 */
export const fleetMigrations: Record<string, Migration> = {
  '0011_fleet_backends': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('backends')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('pool', 'text', (c) => c.notNull())
        .addColumn('vendor', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('max_concurrency', 'integer', (c) => c.notNull())
        .addColumn('weight', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('labels_json', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('healthy', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('ejected_at', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('last_probe_at', 'bigint')
        .addColumn('latency_ewma_ms', 'double precision')
        .addColumn('loaded_model', 'text')
        .addColumn('calls_total', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('errors_total', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('model_loads_total', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('backends_pool').on('backends').columns(['pool', 'id']).execute();
      await db.schema
        .createTable('backend_leases')
        .addColumn('token', 'text', (c) => c.primaryKey())
        .addColumn('backend_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text')
        .addColumn('acquired_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await sql`create index backend_leases_live on backend_leases (backend_id, expires_at)`.execute(db);
    },
  },
};

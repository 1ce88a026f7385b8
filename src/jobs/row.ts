import type { Selectable } from 'kysely';
import type { JobTable } from '../store/schema.js';

export type JobRow = Selectable<JobTable>;

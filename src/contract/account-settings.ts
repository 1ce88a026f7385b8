import { Type } from 'typebox';
import { RETENTION_DAYS_MAX } from './job-options.js';

const RetentionDefault = Type.Union([Type.Integer({ minimum: 1, maximum: RETENTION_DAYS_MAX }), Type.Null()], {
  description:
    "Days an ended job's files are kept when its create request gives no retention_days; null: the server default (EASEL_RETENTION_DAYS). Applies to jobs created afterwards.",
});

export const AccountSettings = Type.Object(
  {
    retention_days: RetentionDefault,
    effective_retention_days: Type.Number({ description: 'What applies now: retention_days, or the server default when it is null.' }),
  },
  { additionalProperties: false, description: 'Easel: per-account defaults.' },
);

export const AccountSettingsBody = Type.Object({ retention_days: RetentionDefault }, { additionalProperties: false });

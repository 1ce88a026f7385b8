import { Type } from 'typebox';
import { DateTime, Eur, Uuid } from './common.js';
import { NextCursor, PAGE_OFFSET_NOTE, StartingAfterToken } from './pagination.js';

const counts = {
  jobs: Type.Integer({ minimum: 0, description: 'Jobs created, whatever their outcome.' }),
  completed: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
  charged_eur: Type.String({ pattern: '^\\d+\\.\\d{6}$', description: 'Charged: completed jobs, plus the finished scenes of failed stories.' }),
};
const opCounts = Type.Object({ operation: Type.String({ description: 'image, graphic, diagram, edit_image, …, combine_diagram, story, process_*' }), ...counts }, { additionalProperties: false });

/** Easel extension of the profile: `user.usage`. */
export const Usage = Type.Object(
  {
    total: Type.Object(counts, { additionalProperties: false }),
    by_operation: Type.Array(opCounts, { description: 'Sorted by operation.' }),
    by_month: Type.Array(
      Type.Object({ month: Type.String({ pattern: '^\\d{4}-\\d{2}$', description: 'UTC month, YYYY-MM.' }), ...counts, by_operation: Type.Array(opCounts) }, { additionalProperties: false }),
      { description: 'Newest month first.' },
    ),
  },
  { additionalProperties: false, description: 'Easel: usage by operation and by UTC month, from the account\'s jobs.' },
);

const eurOrNull = (description: string) => Type.Union([Eur, Type.Null()], { description });

/** Easel extension of the profile: `user.spending` (issue 18). */
export const Spending = Type.Object(
  {
    daily_cap_eur: eurOrNull('Most the account may spend per UTC day (captured + held), set by the operator; null: no cap.'),
    monthly_cap_eur: eurOrNull('Most the account may spend per UTC month (captured + held); null: no cap.'),
    spent_today_eur: Eur,
    spent_this_month_eur: Eur,
    held_eur: Type.String({ pattern: '^-?\\d+\\.\\d{6}$', description: 'Held by jobs in flight: counted against both caps until captured or released.' }),
    daily_resets_at: DateTime,
    monthly_resets_at: DateTime,
  },
  {
    additionalProperties: false,
    description: 'Easel: spending caps and what counts against them. A create or scene retry whose hold would pass a cap is refused with 402 spending_cap_reached (details name the cap and resets_at).',
  },
);

/** Easel extension of the profile: `user.scheduling` (issue 18). */
export const Scheduling = Type.Object(
  {
    weight: Type.Integer({ minimum: 1, description: "The account's share of the workers while several accounts have jobs waiting (default 1; set by the operator)." }),
    max_running_jobs: Type.Integer({ minimum: 1, description: 'Jobs of the account that run at once at most (EASEL_MAX_CONCURRENT_JOBS); more wait in the queue.' }),
    max_queued_jobs: Type.Integer({ minimum: 1, description: 'Jobs that may wait to start at once (EASEL_MAX_QUEUED_JOBS); a create above it answers 429 rate_limited.' }),
    running: Type.Integer({ minimum: 0 }),
    queued: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false, description: 'Easel: how the fair dispatcher treats this account, and its jobs running and waiting now.' },
);

/** `GET /v1/account/profile`. */
export const Profile = Type.Object(
  {
    user: Type.Object(
      {
        id: Uuid,
        name: Type.Union([Type.String(), Type.Null()]),
        email: Type.Union([Type.String(), Type.Null()]),
        created_at: DateTime,
        balance_eur: Eur,
        held_eur: Eur,
        credits_expire_at: Type.Union([DateTime, Type.Null()]),
        credit_limit_cents: Type.Integer(),
        // The reference's account fields a self-hosted server has no machinery for, with the values that are true of it.
        email_verified: Type.Boolean({ description: 'Always false: Easel sends no verification mail, and never refuses a request for want of one (no 403 auth_email_not_verified).' }),
        two_factor_enabled: Type.Boolean({ description: 'Always false: Easel has no passwords or sign-in, only API keys.' }),
        pending_credit_notice: Type.Boolean({ description: 'Always false: Easel has no credit-grant notices (and no POST /v1/account/notifications/dismiss).' }),
        prompt_analysis_opt_in: Type.Boolean({ description: 'Always false: Easel runs no prompt analysis programme.' }),
        providers: Type.Array(Type.String(), { description: 'Connected OAuth providers: always empty (Easel has no OAuth sign-in).' }),
        free_trial_pending_eur: Type.Union([Type.String({ pattern: '^\\d+\\.\\d{6}$' }), Type.Null()], {
          description: 'Free credits awaiting email verification: always null (Easel has no free trial; credits are granted by the operator).',
        }),
        strictness: Type.Enum(['normal', 'liberal'], { description: 'Easel: the account default moderation strictness.' }),
        status: Type.Enum(['active', 'suspended'], { description: 'Easel.' }),
        usage: Usage,
        spending: Spending,
        scheduling: Scheduling,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const LedgerEntry = Type.Object(
  {
    id: Uuid,
    kind: Type.String({ description: 'grant, hold, capture (money spent), release (hold returned), …' }),
    amount_eur: Eur,
    held_delta_eur: Eur,
    job_id: Type.Union([Uuid, Type.Null()]),
    note: Type.Union([Type.String(), Type.Null()]),
    created_at: DateTime,
  },
  {
    additionalProperties: false,
    description:
      'One ledger row. amount_eur is the change to the spendable balance, held_delta_eur the change to the held amount: a grant is (+a, 0), a hold (−p, +p), a capture (0, −c), a release (+r, −r). The balance is the sum of amount_eur; held_eur the sum of held_delta_eur.',
  },
);

export const LedgerPage = Type.Object(
  { entries: Type.Array(LedgerEntry), limit: Type.Integer(), offset: Type.Integer({ description: PAGE_OFFSET_NOTE }), total: Type.Integer(), next_cursor: NextCursor },
  { additionalProperties: false },
);

export const LedgerQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 })),
    starting_after: StartingAfterToken,
  },
  { additionalProperties: false },
);

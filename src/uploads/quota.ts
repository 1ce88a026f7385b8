import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { EaselError } from '../errors.js';
import { spendResets } from '../util/spend-periods.js';
import { isoSeconds } from '../util/time.js';

export interface UploadLimits {
  /** Uploads per account per UTC day; 0 = no limit. */
  dailyCount: number;
  /** Bytes per account per UTC day; 0 = no limit. */
  dailyBytes: number;
}

export interface UploadRecord {
  id: string;
  accountId: string;
  key: string;
  sizeBytes: number;
}

interface Usage {
  count: number;
  bytes: number;
}

/**
 * The daily upload quotas of an account: uploads and bytes stored since the start of the UTC day,
 * counted from the `uploads` rows. Checked twice: before the body is read (from Content-Length,
 * so a client already over its quota sends nothing more), and exactly when the row is written, in
 * a transaction that holds the account's lock (SQLite's write lock; PostgreSQL's row lock on the
 * account), so concurrent uploads of one account cannot pass the limit together.
 */
export class UploadQuota {
  constructor(
    private readonly db: Db,
    private readonly dialect: 'sqlite' | 'postgres',
    readonly limits: UploadLimits,
  ) {}

  /** Refuses early when `incomingBytes` (the least the file can be) cannot fit, or no upload is left. */
  async precheck(accountId: string, incomingBytes: number, now = Date.now()): Promise<void> {
    if (this.limits.dailyCount === 0 && this.limits.dailyBytes === 0) return;
    this.refuseIfOver(await usage(this.db, accountId, now), Math.max(0, incomingBytes), now);
  }

  /** Writes the upload's row if the quotas allow it (429 otherwise, nothing written). */
  async record(r: UploadRecord, now = Date.now()): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (this.dialect === 'postgres') await trx.selectFrom('accounts').select('id').where('id', '=', r.accountId).forUpdate().execute();
      if (this.limits.dailyCount !== 0 || this.limits.dailyBytes !== 0) this.refuseIfOver(await usage(trx, r.accountId, now), r.sizeBytes, now);
      await trx.insertInto('uploads').values({ id: r.id, account_id: r.accountId, key: r.key, size_bytes: r.sizeBytes, created_at: now }).execute();
    });
  }

  /** Forgets a row whose blob could not be stored, so it counts toward nothing. */
  async forget(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  private refuseIfOver(u: Usage, bytes: number, now: number): void {
    const { dailyCount, dailyBytes } = this.limits;
    const resets = spendResets(now).day;
    const retryAfter = String(Math.max(1, Math.ceil((resets - now) / 1000)));
    const common = { resets_at: isoSeconds(resets), used_count: u.count, used_bytes: u.bytes };
    if (dailyCount !== 0 && u.count + 1 > dailyCount) {
      throw new EaselError(429, 'rate_limited', `At most ${dailyCount} uploads a day (UTC) are accepted for an account; the quota resets at ${isoSeconds(resets)}.`, { quota: 'upload_count', limit: dailyCount, ...common }, { 'retry-after': retryAfter });
    }
    if (dailyBytes !== 0 && u.bytes + bytes > dailyBytes) {
      throw new EaselError(429, 'rate_limited', `At most ${dailyBytes} bytes a day (UTC) may be uploaded for an account; this file does not fit in what is left (${Math.max(0, dailyBytes - u.bytes)} bytes) before ${isoSeconds(resets)}.`, { quota: 'upload_bytes', limit: dailyBytes, ...common }, { 'retry-after': retryAfter });
    }
  }
}

async function usage(db: Db, accountId: string, now: number): Promise<Usage> {
  const dayStart = spendResets(now).day - 86_400_000;
  const r = await db
    .selectFrom('uploads')
    .select([sql<number>`count(*)`.as('n'), sql<number>`coalesce(sum(size_bytes), 0)`.as('bytes')])
    .where('account_id', '=', accountId)
    .where('created_at', '>=', dayStart)
    .executeTakeFirstOrThrow();
  return { count: Number(r.n), bytes: Number(r.bytes) };
}

import pg from 'pg';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';

const CHANNEL = 'easel_queue';

/**
 * Cross-process wake-ups for the PostgreSQL queue: an enqueue sends NOTIFY in its own transaction
 * (delivered on commit only), and every worker process LISTENs and claims at once instead of
 * waiting for its idle poll. A lost listener reconnects; the idle poll covers the gap.
 */
export class PgWakeup {
  private client: pg.Client | null = null;
  private stopped = false;
  private reconnecting = false;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly onWake: () => void,
  ) {}

  static async notify(trx: Db, jobId: string): Promise<void> {
    await sql`select pg_notify(${CHANNEL}, ${jobId})`.execute(trx);
  }

  async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'easel-queue-listen', connectionTimeoutMillis: 5000 });
    client.on('error', (e) => {
      this.log.warn({ err: e }, 'queue listener lost; reconnecting');
      this.client = null;
      client.end().catch(() => undefined);
      this.reconnect();
    });
    await client.connect();
    client.on('notification', () => this.onWake());
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
  }

  /** Tries again every second until the server answers (a restart takes a few); the idle poll covers the gap. */
  private reconnect(): void {
    if (this.stopped || this.reconnecting) return;
    this.reconnecting = true;
    setTimeout(() => {
      this.reconnecting = false;
      if (this.stopped) return;
      this.listen().catch(() => this.reconnect());
    }, 1000).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.end().catch(() => undefined);
  }
}

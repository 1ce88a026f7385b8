import type { Command } from 'commander';
import fs from 'node:fs';
import { loadConfig, type Config } from '../config.js';
import { migrate, type Db } from '../store/db.js';
import { openStore } from '../store/open.js';
import { OperatorError, createKey, grantByKeyName, listKeys, revokeKey } from '../accounts/accounts.js';
import { eurToMicros, microsToEur } from '../util/money.js';
import { isoSeconds } from '../util/time.js';
import { registerAccountCommands } from './operator-accounts.js';
import { registerBackendCommands } from './operator-backends.js';

/** Where an operator command's database is, for people: the SQLite file, or the PostgreSQL URL without its password. */
export function describeDatabase(config: Config): string {
  if (config.databaseUrl) {
    try {
      const u = new URL(config.databaseUrl);
      if (u.password) u.password = '***';
      return `PostgreSQL ${u.toString()}`;
    } catch {
      return 'PostgreSQL (EASEL_DATABASE_URL)';
    }
  }
  return `SQLite ${config.databaseFile}`;
}

/** Set by the --create-data-dir option (on every operator command). */
let createDataDir = false;

/**
 * Opens the database an operator command works on, after saying which one on stderr (stdout
 * stays the command's answer: `keys create` prints the key alone on its last line). An SQLite
 * database that does not exist yet is not created silently: a command run without the server's
 * EASEL_DATA_DIR would otherwise make a fresh ./data, write a key there, and the server would
 * answer 401 to it (issue 24). --create-data-dir says "yes, a new one".
 */
export async function withDb<T>(fn: (db: Db) => Promise<T>, opts: { migrate?: boolean; unboundedQueries?: boolean } = {}): Promise<T> {
  const config = loadConfig();
  if (!config.databaseUrl && !fs.existsSync(config.databaseFile)) {
    if (!createDataDir) {
      throw new OperatorError(
        `no database at ${config.databaseFile} (EASEL_DATA_DIR=${process.env.EASEL_DATA_DIR ?? './data'}, resolved to ${config.dataDir}). ` +
          "Set EASEL_DATA_DIR to the server's data directory (or start the server once), or pass --create-data-dir to create a new database here.",
      );
    }
    console.error(`easel: creating a new database at ${config.databaseFile}`);
  }
  console.error(`easel: database ${describeDatabase(config)}`);
  const store = await openStore(config, opts);
  try {
    return await fn(store.db);
  } finally {
    await store.close();
  }
}

function parseEur(v: string): number {
  try {
    const m = eurToMicros(v);
    if (m <= 0) throw new Error();
    return m;
  } catch {
    throw new OperatorError(`"${v}" is not a positive EUR amount (e.g. 10 or 2.50)`);
  }
}

/** Operator commands act on the database directly; they are safe while the server runs (WAL, write locks). */
export function registerOperatorCommands(program: Command): void {
  const flag = (c: Command) =>
    c.option('--create-data-dir', 'create a new database (and data directory) when none exists yet, instead of refusing').hook('preAction', (cmd) => {
      createDataDir = cmd.opts().createDataDir === true;
    });
  flag(program
    .command('migrate'))
    .description('apply database migrations (idempotent)')
    .action(async () => {
      const applied = await withDb((db) => migrate(db), { migrate: false, unboundedQueries: true });
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    });

  const keys = program.command('keys').description('manage API keys');
  flag(keys
    .command('create'))
    .description('create an API key (and its account, if new); prints the key alone on the last line')
    .requiredOption('--name <name>', 'key name (unique within its account); also the account name unless --account is given')
    .option('--account <account>', 'attach the key to this account (created if missing)')
    .option('--credits <eur>', 'grant this many EUR to the account')
    .option('--strictness <mode>', 'default moderation strictness of a new account: normal or liberal')
    .option('--scope <scope>', 'admin (default: also manages keys and settings) or generate (creates and reads jobs only)')
    .action(async (o: { name: string; account?: string; credits?: string; strictness?: string; scope?: string }) => {
      if (o.strictness && o.strictness !== 'normal' && o.strictness !== 'liberal') throw new OperatorError('--strictness must be normal or liberal');
      if (o.scope && o.scope !== 'admin' && o.scope !== 'generate') throw new OperatorError('--scope must be admin or generate');
      const created = await withDb((db) =>
        createKey(db, {
          name: o.name,
          account: o.account,
          creditsMicros: o.credits ? parseEur(o.credits) : undefined,
          strictness: (o.strictness as 'normal' | 'liberal' | undefined) ?? loadConfig().defaultStrictness,
          scope: o.scope as 'admin' | 'generate' | undefined,
        }),
      );
      console.log(`created key "${created.keyName}" for account ${created.accountId}${created.accountCreated ? ' (new account)' : ''}`);
      if (o.credits) console.log(`granted EUR ${microsToEur(parseEur(o.credits))}`);
      console.log('store this key now; it cannot be shown again:');
      console.log(created.key);
    });
  flag(keys
    .command('list'))
    .description('list API keys')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const rows = await withDb((db) => listKeys(db));
      const view = rows.map((r) => ({
        name: r.name,
        prefix: `${r.prefix}…`,
        account: r.account,
        scope: r.scope,
        status: r.revoked_at == null ? 'active' : 'revoked',
        created_at: isoSeconds(Number(r.created_at)),
        balance_eur: microsToEur(Number(r.available_micros)),
        held_eur: microsToEur(Number(r.held_micros)),
      }));
      if (o.json) console.log(JSON.stringify(view, null, 2));
      else if (view.length === 0) console.log('no keys');
      else console.table(view);
    });
  flag(keys
    .command('revoke <name>'))
    .description('revoke an API key; its next request answers 401')
    .option('--account <account>', 'the account the key belongs to (needed when several accounts have a key of that name)')
    .action(async (name: string, o: { account?: string }) => {
      await withDb((db) => revokeKey(db, name, o.account));
      console.log(`revoked key "${name}"`);
    });

  const credits = program.command('credits').description('manage credits');
  flag(credits
    .command('grant'))
    .description("grant EUR credits to a key's account (a ledger row)")
    .requiredOption('--key-name <name>', 'the key whose account receives the credits')
    .requiredOption('--eur <amount>', 'amount in EUR, e.g. 10 or 2.50')
    .option('--account <account>', 'the account the key belongs to (needed when several accounts have a key of that name)')
    .action(async (o: { keyName: string; eur: string; account?: string }) => {
      const micros = parseEur(o.eur);
      const r = await withDb((db) => grantByKeyName(db, o.keyName, micros, o.account));
      console.log(`granted EUR ${microsToEur(micros)}; balance EUR ${microsToEur(r.available)}`);
    });

  registerAccountCommands(program, (fn) => withDb(fn));
  registerBackendCommands(program, (fn) => withDb(fn));
}

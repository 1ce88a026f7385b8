import type { Command } from 'commander';
import fs from 'node:fs';
import { loadConfig } from '../config.js';
import { OperatorError } from '../accounts/accounts.js';
import { describeDatabase } from './operator.js';

/** Problems printed one per line before the rest are only counted (the exit code says enough). */
const MAX_PRINTED = 1000;

/** `easel backup`, `easel restore` (embedded mode) and `easel verify` (both modes): src/backup/. */
export function registerBackupCommands(program: Command): void {
  program
    .command('backup <dir>')
    .description('embedded mode: an online, consistent backup of the database and the blobs it references into a new directory')
    .action(async (dir: string) => {
      const { backup, BackupError } = await import('../backup/backup.js');
      const config = loadConfig();
      try {
        const r = await backup(config, dir, (l) => console.error(`easel: ${l}`));
        const c = r.manifest.counts;
        for (const d of r.manifest.dropped) {
          console.error(`easel: ${d.kind} ${d.id}: ${d.reason === 'retention' ? 'its files were deleted by the retention sweeper during the backup' : 'its files are MISSING from the data directory'}; ${d.action.replace(/_/g, ' ')} in the backup (${d.keys.join(', ')})`);
        }
        console.log(`backup written to ${dir}: ${c.accounts} accounts, ${c.jobs} jobs, ${c.ledger_rows} ledger rows, ${c.uploads} uploads, ${c.files} files (${(c.file_bytes / 1e6).toFixed(1)} MB)`);
        if (r.damaged.length > 0) {
          console.error(`easel: the backup is complete, but ${r.damaged.length} job(s)/upload(s) of the source had lost files (listed above): run \`easel verify\` on the source`);
          process.exitCode = 1;
        }
      } catch (e) {
        if (e instanceof BackupError) throw new OperatorError(e.message);
        throw e;
      }
    });

  program
    .command('restore <dir>')
    .description('embedded mode: restore a backup into EASEL_DATA_DIR (which must be empty), checking every file against its manifest')
    .option('--force', "replace a non-empty data directory's database, blobs and keys (stop its servers first)")
    .action(async (dir: string, o: { force?: boolean }) => {
      const { restore } = await import('../backup/restore.js');
      const { BackupError } = await import('../backup/backup.js');
      const config = loadConfig();
      try {
        const m = await restore(config, dir, { force: o.force === true }, (l) => console.error(`easel: ${l}`));
        const c = m.counts;
        console.log(`restored the backup of ${m.created_at} into ${config.dataDir}: ${c.accounts} accounts, ${c.jobs} jobs, ${c.files} files`);
        console.log(`start it with: EASEL_DATA_DIR=${config.dataDir} easel serve`);
      } catch (e) {
        if (e instanceof BackupError) throw new OperatorError(e.message);
        throw e;
      }
    });

  program
    .command('verify')
    .description('check a deployment (either mode): the ledger is exact and every blob a kept job or upload references exists')
    .option('--concurrency <n>', 'blobs checked at once', '16')
    .action(async (o: { concurrency: string }) => {
      const config = loadConfig();
      const concurrency = Number(o.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new OperatorError('--concurrency must be an integer from 1 to 256');
      if (!config.databaseUrl && !fs.existsSync(config.databaseFile)) throw new OperatorError(`no database at ${config.databaseFile}: set EASEL_DATA_DIR to the server's data directory`);
      console.error(`easel: database ${describeDatabase(config)}`);
      const { verifyDeployment } = await import('../backup/verify.js');
      const { openBlobForReading } = await import('../backup/open-blob.js');
      const { sqliteReader, postgresReader } = await import('../store/reader.js');
      const reader = config.databaseUrl ? await postgresReader(config.databaseUrl) : sqliteReader(config.databaseFile);
      try {
        const blob = await openBlobForReading(config);
        let printed = 0;
        const s = await verifyDeployment(reader, blob, {
          concurrency,
          uploadRetentionMs: config.uploadRetentionMs,
          onProblem: (p) => {
            if (printed++ < MAX_PRINTED) console.log(`problem: ${p.kind} ${p.id}: ${p.message}`);
          },
        });
        const summary = `${s.accounts} accounts, ${s.jobs} jobs (${s.jobsWithFiles} with kept files), ${s.uploads} uploads, ${s.blobsChecked} blobs checked`;
        if (s.problems === 0) {
          console.log(`ok: ledger exact, every referenced blob present; ${summary}`);
          return;
        }
        if (s.problems > MAX_PRINTED) console.log(`… and ${s.problems - MAX_PRINTED} more`);
        console.log(`FAILED: ${s.problems} problem(s); ${summary}`);
        process.exitCode = 1;
      } finally {
        await reader.close();
      }
    });
}

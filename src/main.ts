import { Command, CommanderError } from 'commander';
import { registerOperatorCommands } from './cli/operator.js';
import { registerUserCommands } from './cli/user/index.js';
import { registerBackupCommands } from './cli/backup.js';
import { OperatorError } from './accounts/accounts.js';

// serve and worker load the whole server (fastify, sharp, queue engines): imported only when run,
// so the user CLI (`easel generate`, `easel jobs`, …) starts quickly.
const program = new Command();
program.name('easel').description('Easel: a self-hostable generative-image API').showHelpAfterError();
program.exitOverride();

program
  .command('serve')
  .description('run the API and in-process workers (EASEL_PORT, EASEL_DATA_DIR, …)')
  .option('--no-worker', 'API only: run no workers in this process')
  .action(async (o: { worker: boolean }) => (await import('./cli/serve.js')).serve({ worker: o.worker }));

program
  .command('worker')
  .description('run workers only (no HTTP); scale out with any number of these against one PostgreSQL')
  .action(async () => (await import('./cli/worker.js')).worker());

registerOperatorCommands(program);
registerBackupCommands(program);
registerUserCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  if (e instanceof OperatorError) {
    console.error(`easel: ${e.message}`);
    process.exit(1);
  }
  console.error(`easel: ${(e as Error).message}`);
  process.exit(1);
}

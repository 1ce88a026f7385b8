import { Command, CommanderError } from 'commander';
import { registerOperatorCommands } from './cli/operator.js';
import { OperatorError } from './accounts/accounts.js';
import { serve } from './cli/serve.js';
import { worker } from './cli/worker.js';

const program = new Command();
program.name('easel').description('Easel: a self-hostable generative-image API').showHelpAfterError();
program.exitOverride();

program
  .command('serve')
  .description('run the API and in-process workers (EASEL_PORT, EASEL_DATA_DIR, …)')
  .option('--no-worker', 'API only: run no workers in this process')
  .action(async (o: { worker: boolean }) => serve({ worker: o.worker }));

program
  .command('worker')
  .description('run workers only (no HTTP); scale out with any number of these against one PostgreSQL')
  .action(async () => worker());

registerOperatorCommands(program);

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

import { Command, CommanderError } from 'commander';
import { registerUserCommands } from './index.js';

/**
 * The client-only `easel` CLI, bundled by scripts/build-cli.mjs into cli/dist/easel.mjs (no
 * runtime dependencies) and packed as the `easel-cli` package: it installs into any prefix and
 * talks to a server over HTTP. The repository's own `easel` binary (src/main.ts) adds the server
 * and operator commands, which need the server's code and database.
 */
const program = new Command();
program.name('easel').description('Easel client: generate images and stories on an Easel server').showHelpAfterError();
program.exitOverride();
registerUserCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  console.error(`easel: ${(e as Error).message}`);
  process.exit(1);
}

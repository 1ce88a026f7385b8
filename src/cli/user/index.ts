import type { Command } from 'commander';
import { registerAccountCommands } from './account.js';
import { registerGenerateCommands } from './generate.js';
import { registerJobCommands } from './jobs.js';
import { registerProcessCommands } from './process.js';
import { registerStoryCommands } from './story.js';
import { registerMcpCommand } from './mcp.js';
import { registerBatchCommands } from './batch.js';

/**
 * The user commands of the `easel` binary (the operator commands act on the database; these talk
 * to a server over HTTP through the SDK): image, graphic, diagram, edit, combine, story run|status,
 * batch run|status|cancel|items, jobs list|show|cancel, models, balance, process …, login, mcp (an MCP server on stdio).
 */
export function registerUserCommands(program: Command): void {
  registerGenerateCommands(program);
  registerStoryCommands(program);
  registerBatchCommands(program);
  registerJobCommands(program);
  registerProcessCommands(program);
  registerAccountCommands(program);
  registerMcpCommand(program);
}

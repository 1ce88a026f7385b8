import type { Command } from 'commander';
import { clientOptions, makeCtx, run, type ClientFlags } from './context.js';

/**
 * `easel mcp`: an MCP server on stdio for agents (Claude Desktop, Cursor, any MCP client), over the
 * same SDK as the other user commands. The MCP SDK and sharp load only when it runs.
 */
export function registerMcpCommand(program: Command): void {
  clientOptions(
    program
      .command('mcp')
      .description('run an MCP server on stdio (tools: generate_image, edit_image, generate_story, get_job, wait_for_job, list_models, get_balance) against EASEL_BASE_URL with EASEL_API_KEY'),
  ).action(
    run(async (o: ClientFlags) => {
      const ctx = makeCtx(o);
      await (await import('../../mcp/stdio.js')).runStdio(ctx.easel);
    }),
  );
}

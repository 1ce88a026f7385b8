import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Easel } from '../sdk/index.js';
import { createMcpServer } from './tools.js';

/**
 * `easel mcp`: the MCP server on stdin/stdout for a local agent, talking to an Easel server over
 * HTTP with EASEL_BASE_URL and EASEL_API_KEY (or `easel login`'s stored ones), like the CLI.
 * Nothing but MCP messages may go to stdout; logs go to stderr.
 */
export async function runStdio(easel: Easel): Promise<void> {
  const server = createMcpServer(easel);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  await server.connect(transport);
  process.stdin.on('end', () => void server.close());
  await closed;
}

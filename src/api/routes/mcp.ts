import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { EaselError } from '../../errors.js';
import { requireAuth } from '../auth.js';
import { CSP, HSTS } from '../hardening.js';
import { Easel } from '../../sdk/index.js';

/**
 * `POST /mcp`: Easel's MCP server over Streamable HTTP, stateless (a fresh server and transport per
 * request; no session id), authenticated by the same Bearer key as every route. The tools
 * (src/mcp/tools.ts) call this server's own public API over loopback with the caller's key, so a
 * tool does exactly what the same HTTP call does — the same checks, charges, rate limit, job
 * views and error codes — and MCP adds no second path into the services. GET and DELETE (a
 * session's stream, a session's end) answer 405: there are no sessions.
 */
export function mcpRoutes(app: FastifyInstance, s: Services): void {
  // Loaded with the first MCP request, not with the server.
  let load: Promise<{ createMcpServer: typeof import('../../mcp/tools.js').createMcpServer; Transport: typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js').StreamableHTTPServerTransport }> | null = null;
  const modules = () =>
    (load ??= Promise.all([import('../../mcp/tools.js'), import('@modelcontextprotocol/sdk/server/streamableHttp.js')]).then(([t, h]) => ({
      createMcpServer: t.createMcpServer,
      Transport: h.StreamableHTTPServerTransport,
    })));

  /** This server's own listener, as a loopback URL (a wildcard bind is reached on the loopback address). */
  const loopbackBase = (): string => {
    const a = app.server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? (a.address === '::' ? '[::1]' : `[${a.address}]`) : a.address === '0.0.0.0' ? '127.0.0.1' : a.address;
    return `http://${host}:${a.port}`;
  };

  app.post(
    '/mcp',
    {
      schema: {
        summary: 'MCP over Streamable HTTP (stateless)',
        description:
          'A Model Context Protocol endpoint for agents: send JSON-RPC messages (initialize, tools/list, tools/call) with `Accept: application/json, text/event-stream` and your API key as Bearer. ' +
          'Tools: generate_image, edit_image, generate_story, get_job, wait_for_job (progress notifications from the job\u2019s events), list_models, get_balance. ' +
          'Each tool calls this server\u2019s /v1 API with your key: every call is a job, charged and listed as usual. Errors of a tool are MCP tool errors carrying Easel\u2019s code and request id. Stateless: no Mcp-Session-Id.',
        tags: ['mcp'],
        body: Type.Object(
          { jsonrpc: Type.Literal('2.0'), id: Type.Optional(Type.Union([Type.String(), Type.Integer()])), method: Type.Optional(Type.String()), params: Type.Optional(Type.Object({}, { additionalProperties: true })) },
          { additionalProperties: true, description: 'One JSON-RPC 2.0 message of MCP: a request, a notification or a response.' },
        ),
        response: {
          200: {
            description: 'The JSON-RPC answer, as a Server-Sent Events stream (progress notifications, then the result) or as JSON.',
            content: { 'text/event-stream': { schema: Type.String() }, 'application/json': { schema: Type.Object({}, { additionalProperties: true }) } },
          },
          202: { description: 'A notification or response was accepted (no body).', type: 'null' },
          406: { description: 'The Accept header must list application/json and text/event-stream (a JSON-RPC error body).', content: { 'application/json': { schema: Type.Object({}, { additionalProperties: true }) } } },
          415: { description: 'Content-Type must be application/json (a JSON-RPC error body).', content: { 'application/json': { schema: Type.Object({}, { additionalProperties: true }) } } },
        },
      },
    },
    async (req, reply) => {
      requireAuth(req);
      const { createMcpServer, Transport } = await modules();
      const base = loopbackBase();
      const publicBase = s.publicBase.url.replace(/\/+$/, '');
      const easel = new Easel({
        apiKey: bearerOf(req),
        baseUrl: base,
        maxRetries: 0,
        // Loopback calls carry this request's id: their log lines join it, and tool errors quote it.
        headers: { 'x-request-id': String(req.id) },
      });
      const server = createMcpServer(easel, { fileUrl: (url) => (url.startsWith(`${publicBase}/`) ? base + url.slice(publicBase.length) : url) });
      const transport = new Transport({ sessionIdGenerator: undefined });
      // Past the hijack no hook runs: the headers every answer carries (src/api/hardening.ts) are written here.
      const headers = reply.getHeaders();
      reply.hijack();
      const res = reply.raw;
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value as string);
      res.setHeader('content-security-policy', CSP);
      res.setHeader('cache-control', 'no-store');
      if ((s.config.publicUrl ?? '').startsWith('https://')) res.setHeader('strict-transport-security', HSTS);
      res.on('close', () => {
        void transport.close().catch(() => undefined);
        void server.close().catch(() => undefined);
      });
      try {
        await server.connect(transport);
        await transport.handleRequest(req.raw, res, req.body);
      } catch (e) {
        req.log.error({ err: e }, 'mcp request failed');
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
        }
      }
    },
  );

  for (const method of ['GET', 'DELETE'] as const) {
    app.route({
      method,
      url: '/mcp',
      schema: {
        summary: method === 'GET' ? 'MCP: a session\u2019s event stream (not offered: stateless)' : 'MCP: end a session (not offered: stateless)',
        description: 'This MCP endpoint is stateless: there are no sessions to follow or end. 405 method_not_allowed, with Allow: POST.',
        tags: ['mcp'],
        response: errorResponses(405),
      },
      handler: async () => {
        throw new EaselError(405, 'method_not_allowed', 'This MCP endpoint is stateless: use POST /mcp.', undefined, { allow: 'POST' });
      },
    });
  }
}

function bearerOf(req: FastifyRequest): string {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')![1]!;
}

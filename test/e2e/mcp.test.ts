import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BIN, EaselProcess, MODE, api, download } from '../helpers/server.js';
import { storyboard } from '../helpers/cli.js';
import { auditLedger } from '../helpers/ledger.js';

const TOOLS = ['edit_image', 'generate_image', 'generate_story', 'get_balance', 'get_job', 'list_models', 'wait_for_job'];
type Kind = 'stdio' | 'http';

/**
 * Easel's MCP server driven by the official MCP SDK client over both transports: `easel mcp`
 * spawned on stdio (talking to the server over HTTP), and Streamable HTTP at the server's /mcp.
 * Every tool is called; a story is waited on with progress notifications; a bad key and an empty
 * balance come back as errors carrying Easel's code and request id; the ledger stays exact.
 */
describe(`MCP server (${MODE})`, () => {
  let srv: EaselProcess;
  const configHome = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-mcp-cfg-'));
  const clients: Client[] = [];

  before(async () => {
    // Each sketch image takes a little while, so a story's progress arrives scene by scene.
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '100' } });
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await srv.stop();
    fs.rmSync(configHome, { recursive: true, force: true });
  });

  async function connect(kind: Kind, key: string): Promise<Client> {
    const client = new Client({ name: 'easel-test', version: '1.0.0' });
    const transport =
      kind === 'stdio'
        ? new StdioClientTransport({
            command: process.execPath,
            args: [BIN, 'mcp'],
            env: { PATH: process.env.PATH ?? '', HOME: configHome, XDG_CONFIG_HOME: configHome, EASEL_BASE_URL: srv.baseUrl, EASEL_API_KEY: key },
            stderr: 'pipe',
          })
        : new StreamableHTTPClientTransport(new URL(`${srv.baseUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  const textOf = (r: CallToolResult) => JSON.parse((r.content.find((c) => c.type === 'text') as { text: string }).text);
  const call = async (c: Client, name: string, args: Record<string, unknown> = {}) => (await c.callTool({ name, arguments: args })) as CallToolResult;

  for (const kind of ['stdio', 'http'] as const) {
    describe(kind, () => {
      let key: string;
      let client: Client;
      const jobs: string[] = [];

      before(async () => {
        key = await srv.createKey(`mcp-${kind}`, '10');
        client = await connect(kind, key);
      });

      it('tools/list names every tool with an input schema', async () => {
        const { tools } = await client.listTools();
        assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
        for (const t of tools) assert.equal(t.inputSchema.type, 'object');
        const story = tools.find((t) => t.name === 'generate_story')!;
        assert.ok((story.inputSchema.required as string[]).includes('scenes'));
      });

      it('list_models and get_balance', async () => {
        const models = textOf(await call(client, 'list_models'));
        assert.ok(models.models.length > 0);
        assert.ok(models.models[0].id);
        const balance = await call(client, 'get_balance');
        assert.deepEqual(balance.structuredContent, { balance_eur: '10.000000', held_eur: '0.000000' });
      });

      it('generate_image: a small WebP preview and signed URLs of a charged job', async () => {
        const r = await call(client, 'generate_image', { prompt: 'a lighthouse at dusk', aspect_ratio: '16:9' });
        assert.notEqual(r.isError, true, JSON.stringify(r.content));
        const image = r.content.find((c) => c.type === 'image') as { data: string; mimeType: string };
        assert.equal(image.mimeType, 'image/webp');
        const meta = await sharp(Buffer.from(image.data, 'base64')).metadata();
        assert.equal(meta.format, 'webp');
        assert.deepEqual([meta.width, meta.height], [256, 144]);
        const out = textOf(r);
        assert.equal(out.cost_eur, '0.020000');
        const png = await download(out.urls.png);
        assert.equal(png.status, 200);
        assert.equal((await sharp(png.bytes).metadata()).width, 1024);
        jobs.push(out.job_id);
      });

      it('edit_image from base64 bytes (uploaded first), and get_job', async () => {
        const input = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#3366cc' } }).png().toBuffer();
        const r = await call(client, 'edit_image', { prompt: 'make it black and white', image_base64: input.toString('base64') });
        assert.notEqual(r.isError, true, JSON.stringify(r.content));
        assert.ok(r.content.some((c) => c.type === 'image'));
        const out = textOf(r);
        jobs.push(out.job_id);
        const job = textOf(await call(client, 'get_job', { job_id: out.job_id }));
        assert.equal(job.operation, 'edit_image');
        assert.equal(job.status, 'completed');
      });

      it('generate_story answers the job id at once; wait_for_job sends progress notifications until it completes', async () => {
        const started = await call(client, 'generate_story', storyboard(3));
        assert.notEqual(started.isError, true, JSON.stringify(started.content));
        const { job_id } = textOf(started);
        assert.match(job_id, /^[0-9a-f-]{36}$/);
        const progress: { progress: number; total?: number; message?: string }[] = [];
        const r = (await client.callTool({ name: 'wait_for_job', arguments: { job_id } }, undefined, { onprogress: (p) => progress.push(p), timeout: 120_000 })) as CallToolResult;
        assert.notEqual(r.isError, true, JSON.stringify(r.content));
        const job = textOf(r);
        assert.equal(job.status, 'completed');
        assert.ok(progress.length >= 1, 'progress notifications arrived');
        for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.progress > progress[i - 1]!.progress, 'progress only increases');
        const last = progress.at(-1)!;
        assert.equal(last.total, job.scenes_total);
        assert.equal(last.progress, job.scenes_total);
        assert.ok(r.content.filter((c) => c.type === 'image').length >= 1, 'previews of the story\u2019s images');
        jobs.push(job_id);
      });

      it('every tool call that made something is a charged job; the ledger is exact', async () => {
        const list = (await api(srv.baseUrl, 'GET', '/v1/jobs?limit=100', { key })).body;
        assert.deepEqual(list.generations.map((j: { job_id: string }) => j.job_id).sort(), [...jobs].sort());
        let charged = 0;
        for (const id of jobs) charged += Math.round(Number((await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body.cost.charged_eur) * 1e6);
        const balance = (await call(client, 'get_balance')).structuredContent as { balance_eur: string; held_eur: string };
        assert.equal(balance.balance_eur, ((10_000_000 - charged) / 1e6).toFixed(6));
        assert.equal(balance.held_eur, '0.000000');
        const audit = await auditLedger(srv, `mcp-${kind}`);
        assert.equal(audit.available, audit.ledgerAvailable);
        assert.equal(audit.captures, charged);
        assert.deepEqual(audit.unbalancedTerminalJobs, []);
        assert.deepEqual(audit.chargeMismatches, []);
      });

      it('an empty balance: a tool error carrying credit_insufficient and the request id', async () => {
        const poor = await connect(kind, await srv.createKey(`mcp-${kind}-poor`));
        const r = await call(poor, 'generate_image', { prompt: 'a lighthouse at dusk' });
        assert.equal(r.isError, true);
        const e = textOf(r);
        assert.equal(e.error, 'credit_insufficient');
        assert.equal(e.status, 402);
        assert.match(e.request_id, /\S/);
        assert.equal(e.details.required_eur, '0.020000');
      });

      it('a bad key is refused', async () => {
        const bad = `esl_${'z'.repeat(40)}`;
        if (kind === 'stdio') {
          const c = await connect('stdio', bad);
          const r = await call(c, 'get_balance');
          assert.equal(r.isError, true);
          const e = textOf(r);
          assert.equal(e.error, 'auth_invalid');
          assert.equal(e.status, 401);
          assert.match(e.request_id, /\S/);
        } else {
          await assert.rejects(connect('http', bad), (e: unknown) => {
            assert.ok(e instanceof StreamableHTTPError, String(e));
            assert.equal(e.code, 401);
            return true;
          });
          const raw = await api(srv.baseUrl, 'POST', '/mcp', { key: bad, body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
          assert.equal(raw.status, 401);
          assert.equal(raw.body.error, 'auth_invalid');
          assert.equal(raw.body.request_id, raw.headers.get('x-request-id'));
        }
      });
    });
  }

  it('GET and DELETE /mcp answer 405: the endpoint is stateless', async () => {
    const key = await srv.createKey('mcp-405', '1');
    for (const method of ['GET', 'DELETE']) {
      const r = await api(srv.baseUrl, method, '/mcp', { key });
      assert.equal(r.status, 405);
      assert.equal(r.body.error, 'method_not_allowed');
      assert.equal(r.headers.get('allow'), 'POST');
    }
  });
});

import { batchRoutes } from './routes/batches.js';
import { BatchItem, BatchResult } from '../contract/batches.js';
import { JobProgress, ProgressEvent } from '../contract/progress.js';
import path from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifyStatic from '@fastify/static';
import type { Services } from '../app.js';
import { ErrorBody } from '../contract/common.js';
import { GenerationResponse } from '../contract/generation.js';
import { Job } from '../contract/jobs.js';
import { StoryResult } from '../contract/story.js';
import { ProcessResponse } from '../contract/process.js';
import { installAuth } from './auth.js';
import { openRateStore } from './rate-store.js';
import { keyLookup } from '../accounts/key-lookup.js';
import { installErrorHandling } from './error-handler.js';
import { validatorCompiler } from './validation.js';
import { installJsonDepthLimit } from './json-depth.js';
import { jobRoutes } from './routes/jobs.js';
import { jobControlRoutes } from './routes/job-control.js';
import { generateRoutes } from './routes/generate.js';
import { generateContentRoutes } from './routes/generate-content.js';
import { editCombineRoutes } from './routes/edit-combine.js';
import { storyRoutes } from './routes/story.js';
import { fileRoutes } from './routes/files.js';
import { processRoutes } from './routes/process.js';
import { uploadRoutes } from './routes/upload.js';
import { metaRoutes } from './routes/meta.js';
import { accountRoutes } from './routes/account.js';
import { accountSettingsRoutes } from './routes/account-settings.js';
import { jobEventRoutes } from './routes/job-events.js';
import { previewRoutes } from './routes/previews.js';
import { webhookRoutes } from './routes/webhooks.js';
import { quoteRoutes } from './routes/quote.js';
import { keyRoutes } from './routes/keys.js';
import { openAIImageRoutes } from './routes/openai-images.js';
import { mcpRoutes } from './routes/mcp.js';
import { installDashboard } from './dashboard.js';
import { completeDocument } from './openapi-document.js';
import { installClosingGate } from './closing-gate.js';
import { installResponseCheck } from './response-check.js';
import { requestId } from '../util/ids.js';
import { mkdirPrivate } from '../util/private-files.js';
import { httpLogRedaction, httpLogSerializers, httpServerOptions, installHardening } from './hardening.js';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildServer(s: Services): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: s.log.child({ component: 'http' }, { serializers: httpLogSerializers, redact: httpLogRedaction }) as FastifyBaseLogger,
    bodyLimit: s.config.maxBodyBytes,
    // A client's X-Request-Id is echoed only when it is short and plain; otherwise we mint one.
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && SANE_REQUEST_ID.test(h) && !/esl_/i.test(h) ? h : requestId();
    },
    // One access line per request, written by the onResponse hook (src/api/hardening.ts), instead of fastify's two.
    // Through a LogController: the top-level disableRequestLogging option prints FSTDEP023 on every start.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ...httpServerOptions(s.config),
    // Our closing gate answers those requests in the error shape instead (src/api/closing-gate.ts).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });

  app.setValidatorCompiler(validatorCompiler);
  // Every JSON body of every route: at most MAX_JSON_DEPTH levels deep (400 bad_request beyond).
  installJsonDepthLimit(app);
  // Responses are serialised with JSON.stringify: the response schemas document the contract
  // (and the contract tests validate real responses against them) without a second serializer.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addSchema(ErrorBody);
  // A job's `result` is one of these three shapes (by its operation), so they are registered with it.
  app.addSchema(GenerationResponse);
  app.addSchema(StoryResult);
  app.addSchema(ProcessResponse);
  app.addSchema(BatchResult);
  app.addSchema(BatchItem);
  app.addSchema(JobProgress);
  app.addSchema(ProgressEvent);
  app.addSchema(Job);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Easel API',
        version: '1.0.0',
        description: 'Self-hostable generative-image API, wire-compatible with the public Depicta /v1 API. Money is EUR as 6-decimal strings.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key, esl_…' } } },
      security: [{ bearer: [] }],
    },
    // The statuses and headers every operation can answer besides its own (src/api/openapi-document.ts).
    transformObject: (d) => completeDocument((d as { openapiObject: Record<string, unknown> }).openapiObject),
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  const blobRoot = path.join(s.config.dataDir, 'blobs');
  mkdirPrivate(blobRoot);
  await app.register(fastifyStatic, { root: blobRoot, serve: false, etag: true, lastModified: true, cacheControl: false, index: false, dotfiles: 'deny' });

  // Callback style, as every hook that needs no await: an async hook costs a promise per request.
  app.addHook('onRequest', (req, reply, done) => {
    reply.headers({ 'x-request-id': req.id, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' });
    done();
  });
  app.addHook('onRoute', (route) => {
    // Public routes carry no security requirement in the OpenAPI document.
    if (route.config && (route.config as { public?: boolean }).public && route.schema) {
      (route.schema as Record<string, unknown>).security = [];
    }
  });

  installClosingGate(app);
  installErrorHandling(app);
  if (s.config.validateResponses) installResponseCheck(app, s.config.dataDir);
  const rates = await openRateStore(app, s);
  installAuth(app, keyLookup(s.db), s.config.authFailuresPerMin > 0 ? { counter: rates.counter('authfail:'), max: s.config.authFailuresPerMin } : null);
  await installHardening(app, s, rates);
  metaRoutes(app, s);
  jobRoutes(app, s);
  jobEventRoutes(app, s);
  previewRoutes(app, s);
  webhookRoutes(app, s);
  quoteRoutes(app, s);
  jobControlRoutes(app, s);
  generateRoutes(app, s);
  generateContentRoutes(app, s);
  editCombineRoutes(app, s);
  storyRoutes(app, s);
  accountRoutes(app, s);
  accountSettingsRoutes(app, s);
  keyRoutes(app, s);
  fileRoutes(app, s, blobRoot);
  processRoutes(app, s);
  uploadRoutes(app, s);
  openAIImageRoutes(app, s);
  mcpRoutes(app, s);
  batchRoutes(app, s);
  await installDashboard(app, s.config);
  return app;
}

import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { CreateHeaders } from '../../contract/create-headers.js';
import { GenerateDiagramBody, GenerateGraphicBody } from '../../contract/content.js';
import { submitGeneration } from './generate.js';

const ERRORS = { 202: Type.Ref('JobAccepted'), ...errorResponses(400, 401, 402, 403, 404, 409, 413, 422, 429, 451, 500, 502, 503) };

/**
 * POST /v1/generate/graphic and /v1/generate/diagram: the generate-image contract with a
 * different template and content kind (job operations `graphic` and `diagram`), run by the same
 * job core and pipeline as images.
 */
export function generateContentRoutes(app: FastifyInstance, s: Services): void {
  app.post(
    '/v1/generate/graphic',
    {
      schema: {
        summary: 'Generate a graphic: icon, logo or UI element (synchronous)',
        description:
          'Same fields, flow and response as POST /v1/generate/image; the prompt is wrapped in the graphic template (flat style, clean edges, few colours) unless raw_prompt is true. ' +
          'Easel: transparent_background: true gives an output with an alpha channel (PNG and WebP; JPEG is flattened on white). Job operation: graphic.',
        tags: ['generate'],
        body: GenerateGraphicBody,
        headers: CreateHeaders,
        response: { 200: Type.Ref('GenerationResponse'), ...ERRORS },
      },
    },
    async (req, reply) => {
      const body = req.body as Static<typeof GenerateGraphicBody>;
      return submitGeneration(s, req, reply, body, 'graphic');
    },
  );

  app.post(
    '/v1/generate/diagram',
    {
      schema: {
        summary: 'Generate a diagram: flowchart, sequence, architecture, mind map, ER, class, timeline or org chart (synchronous)',
        description:
          'Same fields, flow and response as POST /v1/generate/image, plus `type` (flowchart, sequence, architecture, mindmap, er, class, timeline, org-chart; default flowchart). ' +
          'Depicta documents the type only as the CLI flag --type; Easel names the JSON field `type`. The prompt is wrapped in the diagram template for that type unless raw_prompt is true. Job operation: diagram.',
        tags: ['generate'],
        body: GenerateDiagramBody,
        headers: CreateHeaders,
        response: { 200: Type.Ref('GenerationResponse'), ...ERRORS },
      },
    },
    async (req, reply) => {
      const body = req.body as Static<typeof GenerateDiagramBody>;
      return submitGeneration(s, req, reply, body, 'diagram');
    },
  );
}

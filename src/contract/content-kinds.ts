/**
 * The content kinds (`/v1/generate/{kind}`, `/v1/edit/{kind}`, `/v1/combine/{kind}`) and the
 * diagram types a request may name. Plain constants, here because request schemas, the prompt
 * templates (src/pipelines/templates.ts) and the SDK all build on the same lists.
 */
export const CONTENT_KINDS = ['image', 'graphic', 'diagram'] as const;
export type ContentKind = (typeof CONTENT_KINDS)[number];

export const DIAGRAM_TYPES = ['flowchart', 'sequence', 'architecture', 'mindmap', 'er', 'class', 'timeline', 'org-chart'] as const;
export type DiagramType = (typeof DIAGRAM_TYPES)[number];

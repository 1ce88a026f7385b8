import type { StoryRequest } from './request.js';

/**
 * Every text a story sends to the model, in one place, so the wording can be read and tuned
 * without touching the pipeline. Character appearances travel as `figures` beside the text (the
 * provider adapters list them with their reference images), so the scene text only names who
 * is shown; repeating appearances here would double them in vendor prompts.
 */

/** A state's look builds on the character's own: the face stays, the costume changes. */
export function stateAppearance(base: string, state: string, appearance: string): string {
  return `${base.trim()}. In the "${state}" state: ${appearance.trim()}`;
}

export function refLabel(character: string, state?: string): string {
  return state === undefined ? character : `${character} (${state})`;
}

export function portraitPrompt(req: StoryRequest, label: string, appearance: string): string {
  const lines = [`Character reference portrait of ${label}: ${appearance.trim()}`];
  if (req.setting) lines.push(`Setting of the story: ${req.setting.trim()}`);
  if (req.style) lines.push(`Style: ${req.style.trim()}`);
  lines.push('One person, full figure, facing the viewer, neutral pose, plain background: this image is the reference every scene will follow.');
  return lines.join('\n');
}

export interface SceneTextInput {
  index: number;
  total: number;
  prompt: string;
  cast: string[];
  location?: { name: string; description: string };
}

/** raw_prompts: the client's scene prompt exactly as written. */
export function scenePrompt(req: StoryRequest, s: SceneTextInput): string {
  if (req.raw_prompts) return s.prompt;
  const lines: string[] = [];
  if (req.prompt) lines.push(`Story: ${req.prompt.trim()}`);
  if (req.setting) lines.push(`Setting: ${req.setting.trim()}`);
  if (s.location) lines.push(`Location: ${s.location.name} — ${s.location.description.trim()}`);
  lines.push(`Scene ${s.index + 1} of ${s.total}: ${s.prompt.trim()}`);
  lines.push(s.cast.length > 0 ? `Characters in this scene: ${s.cast.join(', ')}.` : 'No named characters appear in this scene.');
  if (req.style) lines.push(`Style: ${req.style.trim()}`);
  lines.push("Keep every character's face, build and costume exactly as in their reference image, and keep the look of the earlier scenes.");
  return lines.join('\n');
}

import type { Static } from 'typebox';
import type { StoryBody } from '../contract/story.js';
import type { AspectRatio, ImageSize } from '../contract/dimensions.js';
import type { Strictness } from '../moderation/moderator.js';

export type StoryBodyIn = Static<typeof StoryBody>;

export interface SceneCast {
  name: string;
  state?: string;
}

/**
 * What a story job keeps in `request_json`: the client's storyboard with every default applied
 * and everything the run must not re-decide later (model, unit price, strictness), so a resumed
 * or retried run, even after a restart with other settings, does exactly what was accepted.
 */
export interface StoryRequest {
  model: string;
  unit_price_micros: number;
  strictness: Strictness;
  prompt?: string;
  style?: string;
  setting?: string;
  aspect_ratio: AspectRatio;
  image_size: ImageSize;
  raw_prompts: boolean;
  characters: {
    name: string;
    appearance: string;
    reference_url?: string;
    states?: Record<string, { appearance: string; reference_url?: string }>;
  }[];
  locations: { name: string; description: string; reference_url?: string }[];
  scenes: {
    prompt: string;
    characters: SceneCast[];
    location?: string;
    aspect_ratio?: AspectRatio;
    image_size?: ImageSize;
  }[];
}

export function normalizeStory(
  body: StoryBodyIn,
  fixed: { model: string; unitPriceMicros: number; strictness: Strictness },
): StoryRequest {
  const opt = <K extends string, V>(k: K, v: V | null | undefined) => (v === undefined || v === null ? {} : ({ [k]: v } as Record<K, V>));
  return {
    model: fixed.model,
    unit_price_micros: fixed.unitPriceMicros,
    strictness: fixed.strictness,
    ...opt('prompt', body.prompt),
    ...opt('style', body.style),
    ...opt('setting', body.setting),
    aspect_ratio: body.aspect_ratio ?? '1:1',
    image_size: body.image_size ?? '1K',
    raw_prompts: body.raw_prompts ?? false,
    characters: body.characters.map((c) => ({
      name: c.name,
      appearance: c.appearance,
      ...opt('reference_url', c.reference_url),
      ...opt('states', c.states),
    })),
    locations: (body.locations ?? []).map((l) => ({ name: l.name, description: l.description, ...opt('reference_url', l.reference_url) })),
    scenes: body.scenes.map((s) => ({
      prompt: s.prompt,
      characters: (s.characters ?? []).map((c) => (typeof c === 'string' ? { name: c } : { name: c.name, state: c.state })),
      ...opt('location', s.location),
      ...opt('aspect_ratio', s.aspect_ratio),
      ...opt('image_size', s.image_size),
    })),
  };
}

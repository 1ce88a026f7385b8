import type { AspectRatio, ImageSize } from '../contract/dimensions.js';
import { dimensionsFor } from '../jobs/sizes.js';
import type { StoryRequest } from './request.js';
import { nameKey } from './validate.js';
import { portraitPrompt, refLabel, scenePrompt, stateAppearance } from './prompts.js';

/** One character reference: a character or one of its states. Generated as a portrait unless the client gave a URL. */
export interface RefSlot {
  index: number;
  character: string;
  state?: string;
  /** The figure key: "Aria" or "Aria#winter". A figure's look depends on its key alone. */
  key: string;
  label: string;
  appearance: string;
  clientUrl?: string;
  /** A state's portrait is drawn from the character's own client reference when there is one. */
  baseSlot?: number;
  /** Request path, for messages. */
  path: string;
  /** Text sent with the portrait (unused for client references). */
  prompt: string;
}

export interface LocationSlot {
  index: number;
  name: string;
  description: string;
  clientUrl?: string;
  path: string;
}

export interface ScenePlan {
  index: number;
  /** The client's prompt, as returned in the result. */
  prompt: string;
  /** What the model gets. */
  text: string;
  figures: number[];
  location?: number;
  width: number;
  height: number;
  path: string;
}

export interface StoryPlan {
  slots: RefSlot[];
  locations: LocationSlot[];
  scenes: ScenePlan[];
  portrait: { width: number; height: number };
  /** Portraits to generate plus scenes: what the story is priced at (client references are free). */
  billableSteps: number;
}

/**
 * Turns a validated storyboard into the work list. Pure and deterministic: a resumed run plans
 * the same slots in the same order, which is what step names and blob keys are built from.
 */
export function planStory(req: StoryRequest, portraitRatio: AspectRatio): StoryPlan {
  const slots: RefSlot[] = [];
  const byName = new Map<string, { base: number; states: Map<string, number> }>();
  req.characters.forEach((c, ci) => {
    const base = slots.length;
    slots.push({
      index: base,
      character: c.name,
      key: c.name,
      label: refLabel(c.name),
      appearance: c.appearance,
      ...(c.reference_url ? { clientUrl: c.reference_url } : {}),
      path: `characters[${ci}]`,
      prompt: portraitPrompt(req, refLabel(c.name), c.appearance),
    });
    const states = new Map<string, number>();
    for (const [state, v] of Object.entries(c.states ?? {})) {
      const appearance = stateAppearance(c.appearance, state, v.appearance);
      states.set(nameKey(state), slots.length);
      slots.push({
        index: slots.length,
        character: c.name,
        state,
        key: `${c.name}#${state}`,
        label: refLabel(c.name, state),
        appearance,
        ...(v.reference_url ? { clientUrl: v.reference_url } : {}),
        ...(c.reference_url && !v.reference_url ? { baseSlot: base } : {}),
        path: `characters[${ci}].states.${state}`,
        prompt: portraitPrompt(req, refLabel(c.name, state), appearance),
      });
    }
    byName.set(nameKey(c.name), { base, states });
  });

  const locations: LocationSlot[] = req.locations.map((l, i) => ({
    index: i,
    name: l.name,
    description: l.description,
    ...(l.reference_url ? { clientUrl: l.reference_url } : {}),
    path: `locations[${i}]`,
  }));
  const locByName = new Map(locations.map((l) => [nameKey(l.name), l.index]));

  const scenes: ScenePlan[] = req.scenes.map((s, i) => {
    const figures = s.characters.map((ref) => {
      const c = byName.get(nameKey(ref.name))!;
      return ref.state === undefined ? c.base : c.states.get(nameKey(ref.state))!;
    });
    const location = s.location === undefined ? undefined : locByName.get(nameKey(s.location));
    const loc = location === undefined ? undefined : locations[location]!;
    const size = dimensionsFor((s.aspect_ratio ?? req.aspect_ratio) as AspectRatio, (s.image_size ?? req.image_size) as ImageSize);
    return {
      index: i,
      prompt: s.prompt,
      text: scenePrompt(req, {
        index: i,
        total: req.scenes.length,
        prompt: s.prompt,
        cast: figures.map((f) => slots[f]!.label),
        ...(loc ? { location: { name: loc.name, description: loc.description } } : {}),
      }),
      figures,
      ...(location !== undefined ? { location } : {}),
      ...size,
      path: `scenes[${i}]`,
    };
  });

  const generated = slots.filter((s) => !s.clientUrl).length;
  return { slots, locations, scenes, portrait: dimensionsFor(portraitRatio, req.image_size), billableSteps: generated + scenes.length };
}

/** Portraits are upright when the model offers it; otherwise they follow the story's ratio. */
export function portraitRatio(offered: readonly string[], storyRatio: AspectRatio): AspectRatio {
  return offered.length === 0 || offered.includes('3:4') ? '3:4' : storyRatio;
}

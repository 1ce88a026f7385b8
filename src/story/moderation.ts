import type { StoryRequest } from './request.js';
import type { RefSlot, ScenePlan, StoryPlan } from './plan.js';

export interface PathText {
  path: string;
  text: string;
}

/** Everything a portrait sends the model, as one text: rules that need two words together see both. */
export function portraitText(slot: RefSlot): string {
  return slot.prompt;
}

/** A scene's text plus the appearances and location sent beside it. */
export function sceneText(plan: StoryPlan, scene: ScenePlan): string {
  const parts = [scene.text, ...scene.figures.map((f) => plan.slots[f]!.appearance)];
  if (scene.location !== undefined) parts.push(plan.locations[scene.location]!.description);
  return parts.join('\n');
}

/**
 * What is moderated before a story is charged: every client text field on its own (so a refusal
 * names the exact field), then every step's combined text (so words split across fields, such
 * as an appearance and a scene prompt, are judged together as the model would see them).
 */
export function submitTexts(req: StoryRequest, plan: StoryPlan): PathText[] {
  const out: PathText[] = [];
  const add = (path: string, text: string | undefined) => {
    if (text !== undefined) out.push({ path, text });
  };
  add('prompt', req.prompt);
  add('style', req.style);
  add('setting', req.setting);
  req.characters.forEach((c, i) => {
    add(`characters[${i}].name`, c.name);
    add(`characters[${i}].appearance`, c.appearance);
    for (const [s, v] of Object.entries(c.states ?? {})) {
      add(`characters[${i}].states.${s}`, s);
      add(`characters[${i}].states.${s}.appearance`, v.appearance);
    }
  });
  req.locations.forEach((l, i) => {
    add(`locations[${i}].name`, l.name);
    add(`locations[${i}].description`, l.description);
  });
  req.scenes.forEach((s, i) => add(`scenes[${i}].prompt`, s.prompt));
  for (const slot of plan.slots) if (!slot.clientUrl) add(slot.path, portraitText(slot));
  for (const scene of plan.scenes) add(scene.path, sceneText(plan, scene));
  return out;
}

import type { FieldError } from '../contract/common.js';
import type { ModelEntry } from '../providers/catalogue.js';
import type { StoryRequest } from './request.js';

/** Names compare trimmed and case-folded: "Aria" and "aria " are one character to a reader and to a model. */
export const nameKey = (name: string): string => name.trim().toLowerCase();

/** "#" joins a character and a state in figure keys ("Aria#winter"), so names may not contain it. */
const RESERVED = '#';

function checkName(errors: FieldError[], path: string, name: string): void {
  if (name.trim() === '') errors.push({ path, message: 'must not be blank' });
  else if (name.includes(RESERVED)) errors.push({ path, message: `must not contain "${RESERVED}"` });
}

function checkUnique(errors: FieldError[], seen: Map<string, string>, path: string, name: string): void {
  const k = nameKey(name);
  const first = seen.get(k);
  if (first !== undefined) errors.push({ path, message: `duplicates ${first} ("${name.trim()}"); names must be unique` });
  else seen.set(k, path);
}

const list = (names: string[]) => (names.length ? names.map((n) => `"${n}"`).join(', ') : 'none');

/**
 * Every cross-reference and model limit of a storyboard, checked before anything is charged.
 * Returns all problems (each with the request path a client can find), not just the first.
 */
export function validateStory(req: StoryRequest, model: ModelEntry): FieldError[] {
  const errors: FieldError[] = [];

  if (model.maxCharacters > 0 && req.characters.length > model.maxCharacters) {
    errors.push({ path: 'characters', message: `model "${model.id}" takes at most ${model.maxCharacters} characters, got ${req.characters.length}` });
  }
  const characters = new Map<string, { index: number; states: Map<string, string> }>();
  const charSeen = new Map<string, string>();
  req.characters.forEach((c, i) => {
    const path = `characters[${i}]`;
    checkName(errors, `${path}.name`, c.name);
    checkUnique(errors, charSeen, `${path}.name`, c.name);
    const states = new Map<string, string>();
    const stateSeen = new Map<string, string>();
    for (const [s, v] of Object.entries(c.states ?? {})) {
      const sp = `${path}.states.${s}`;
      checkName(errors, sp, s);
      checkUnique(errors, stateSeen, sp, s);
      states.set(nameKey(s), s);
    }
    if (!characters.has(nameKey(c.name))) characters.set(nameKey(c.name), { index: i, states });
  });

  const locations = new Set<string>();
  const locSeen = new Map<string, string>();
  req.locations.forEach((l, i) => {
    checkName(errors, `locations[${i}].name`, l.name);
    checkUnique(errors, locSeen, `locations[${i}].name`, l.name);
    locations.add(nameKey(l.name));
  });

  checkSize(errors, 'aspect_ratio', 'image_size', req.aspect_ratio, req.image_size, model);
  req.scenes.forEach((scene, i) => {
    const path = `scenes[${i}]`;
    const cast = new Set<string>();
    scene.characters.forEach((ref, j) => {
      const cp = `${path}.characters[${j}]`;
      const c = characters.get(nameKey(ref.name));
      if (!c) {
        errors.push({ path: cp, message: `unknown character "${ref.name}" (characters: ${list(req.characters.map((x) => x.name))})` });
        return;
      }
      if (cast.has(nameKey(ref.name))) errors.push({ path: cp, message: `"${ref.name}" already appears in this scene` });
      cast.add(nameKey(ref.name));
      if (ref.state !== undefined && !c.states.has(nameKey(ref.state))) {
        const name = req.characters[c.index]!.name;
        errors.push({ path: `${cp}.state`, message: `character "${name}" has no state "${ref.state}" (its states: ${list([...c.states.values()])})` });
      }
    });
    if (scene.location !== undefined && !locations.has(nameKey(scene.location))) {
      errors.push({ path: `${path}.location`, message: `unknown location "${scene.location}" (locations: ${list(req.locations.map((l) => l.name))})` });
    }
    checkSize(errors, `${path}.aspect_ratio`, `${path}.image_size`, scene.aspect_ratio, scene.image_size, model);
  });
  return errors;
}

/** Only values the request states are checked at their own path; inherited ones were checked where they were set. */
function checkSize(errors: FieldError[], ratioPath: string, sizePath: string, ratio: string | undefined, size: string | undefined, model: ModelEntry): void {
  if (ratio !== undefined && model.aspectRatios.length > 0 && !model.aspectRatios.includes(ratio)) {
    errors.push({ path: ratioPath, message: `model "${model.id}" does not offer aspect ratio ${ratio} (offers ${model.aspectRatios.join(', ')})` });
  }
  if (size !== undefined && !(model.imageSizes as readonly string[]).includes(size)) {
    errors.push({ path: sizePath, message: `model "${model.id}" does not offer image_size ${size} (offers ${model.imageSizes.join(', ')})` });
  }
}

/** Every client reference URL with its request path (their scheme is checked with every other input URL's). */
export function referenceUrls(req: StoryRequest): { path: string; url: string }[] {
  const out: { path: string; url: string }[] = [];
  req.characters.forEach((c, i) => {
    if (c.reference_url) out.push({ path: `characters[${i}].reference_url`, url: c.reference_url });
    for (const [s, v] of Object.entries(c.states ?? {})) if (v.reference_url) out.push({ path: `characters[${i}].states.${s}.reference_url`, url: v.reference_url });
  });
  req.locations.forEach((l, i) => {
    if (l.reference_url) out.push({ path: `locations[${i}].reference_url`, url: l.reference_url });
  });
  return out;
}

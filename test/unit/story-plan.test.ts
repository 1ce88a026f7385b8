import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeStory } from '../../src/story/request.js';
import { planStory, portraitRatio } from '../../src/story/plan.js';
import { referenceUrls, validateStory } from '../../src/story/validate.js';
import { submitTexts } from '../../src/story/moderation.js';
import type { ModelEntry } from '../../src/providers/catalogue.js';

const model = { id: 'm', maxCharacters: 3, aspectRatios: ['1:1', '16:9', '3:4'], imageSizes: ['1K'] } as unknown as ModelEntry;
const story = (over: Record<string, unknown> = {}) =>
  normalizeStory(
    {
      characters: [
        { name: 'Aria', appearance: 'red hair', reference_url: 'https://example.com/aria.png', states: { winter: { appearance: 'fur coat' }, gala: { appearance: 'gown', reference_url: 'https://example.com/gala.png' } } },
        { name: 'Bo', appearance: 'grey beard' },
      ],
      locations: [{ name: 'Harbour', description: 'boats' }],
      scenes: [
        { prompt: 'meeting', characters: ['aria', 'BO'], location: 'harbour' },
        { prompt: 'snow', characters: [{ name: 'Aria', state: 'WINTER' }], aspect_ratio: '16:9' },
      ],
      style: 'ink',
      ...over,
    } as never,
    { model: 'm', unitPriceMicros: 20_000, strictness: 'normal' },
  );

describe('story planning', () => {
  it('plans one reference per character and state; client references are fetched, not generated or priced', () => {
    const plan = planStory(story(), '3:4');
    assert.deepEqual(plan.slots.map((s) => [s.key, s.label, s.clientUrl ?? null]), [
      ['Aria', 'Aria', 'https://example.com/aria.png'],
      ['Aria#winter', 'Aria (winter)', null],
      ['Aria#gala', 'Aria (gala)', 'https://example.com/gala.png'],
      ['Bo', 'Bo', null],
    ]);
    assert.equal(plan.slots[1]!.baseSlot, 0, "a state portrait is drawn from the character's own reference");
    assert.equal(plan.slots[1]!.appearance, 'red hair. In the "winter" state: fur coat');
    assert.equal(plan.billableSteps, 2 + 2);
    assert.deepEqual(plan.portrait, { width: 768, height: 1024 });
  });

  it('resolves names case-insensitively to the declared names and their states', () => {
    const plan = planStory(story(), '3:4');
    assert.deepEqual(plan.scenes.map((s) => s.figures), [[0, 3], [1]]);
    assert.equal(plan.scenes[0]!.location, 0);
    assert.deepEqual([plan.scenes[1]!.width, plan.scenes[1]!.height], [1024, 576]);
    assert.match(plan.scenes[0]!.text, /Location: Harbour — boats/);
    assert.match(plan.scenes[0]!.text, /Scene 1 of 2: meeting/);
    assert.match(plan.scenes[1]!.text, /Characters in this scene: Aria \(winter\)\./);
    assert.match(plan.scenes[1]!.text, /Style: ink/);
  });

  it('raw_prompts sends scene prompts exactly as written', () => {
    const plan = planStory(story({ raw_prompts: true }), '3:4');
    assert.deepEqual(plan.scenes.map((s) => s.text), ['meeting', 'snow']);
  });

  it('portraits are upright when the model offers 3:4, else they follow the story', () => {
    assert.equal(portraitRatio(['1:1', '3:4'], '16:9'), '3:4');
    assert.equal(portraitRatio([], '16:9'), '3:4');
    assert.equal(portraitRatio(['1:1', '16:9'], '16:9'), '16:9');
  });

  it('validation reports every problem with its path, including model limits', () => {
    const bad = story({
      characters: [
        { name: 'Aria', appearance: 'x', reference_url: 'http://evil.example/a.png' },
        { name: ' aria', appearance: 'y' },
        { name: 'C', appearance: 'z' },
        { name: 'D', appearance: 'w' },
      ],
      scenes: [{ prompt: 'p', characters: ['Nobody', { name: 'Aria', state: 'none' }], location: 'Nowhere', aspect_ratio: '21:9' }],
    });
    assert.deepEqual(
      validateStory(bad, model).map((f) => f.path),
      ['characters', 'characters[1].name', 'scenes[0].characters[0]', 'scenes[0].characters[1].state', 'scenes[0].location', 'scenes[0].aspect_ratio'],
    );
    assert.deepEqual(validateStory(story(), model), []);
    assert.deepEqual(referenceUrls(story()).map((r) => r.path), ['characters[0].reference_url', 'characters[0].states.gala.reference_url']);
  });

  it('moderates each field on its own and each step as the model will see it', () => {
    const req = story();
    const paths = submitTexts(req, planStory(req, '3:4')).map((t) => t.path);
    for (const p of ['style', 'characters[0].appearance', 'characters[0].states.winter.appearance', 'locations[0].description', 'scenes[1].prompt', 'characters[0].states.winter', 'characters[1]', 'scenes[0]']) {
      assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    }
    assert.ok(!paths.includes('characters[0]'), 'a client reference is not generated, so it has no portrait text');
  });
});

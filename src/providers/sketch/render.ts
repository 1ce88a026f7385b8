import sharp from 'sharp';
import { figureSvg } from './figure.js';
import { portraitBox, sceneBoxes } from './layout.js';
import { rngFrom } from './prng.js';
import { composeScene, type Placed } from './scene.js';
import { readPrompt, type ReadPrompt } from './lexicon.js';
import { figureSignature } from './signature.js';
import { renderStyled, type SketchStyle } from './styled.js';
import type { SketchDiagramType } from './diagram.js';

/** A character (key = "name" or "name#state") to draw in the picture. */
export interface SketchFigure {
  key: string;
  appearance: string;
}

export interface SketchRenderInput {
  prompt: string;
  /** Integer; same prompt+seed+size+figures gives byte-identical PNG. */
  seed: number;
  /** Pixels, 64..4096. */
  width: number;
  height: number;
  /** Characters shown in this image (0..10). */
  figures?: SketchFigure[];
  /** A single large figure filling the frame (a character reference portrait). */
  portrait?: boolean;
  /** 'image' (default): the scenery renderer below; 'graphic' and 'diagram': the flat styles in styled.ts (figures are not drawn there). */
  style?: SketchStyle;
  /** For style 'diagram': the layout (default flowchart). */
  diagramType?: SketchDiagramType;
  /** For style 'graphic': a transparent background (RGBA output). */
  transparent?: boolean;
}

export const MIN_SIDE = 64;
export const MAX_SIDE = 4096;
export const MAX_FIGURES = 10;

/** What the renderer drew for a prompt, for tests and the visual regression set. */
export interface SketchRenderResult {
  png: Buffer;
  /** The named subjects, each as the pictogram drawn and its box in pixels. */
  placed: Placed[];
  /** How the prompt was read. */
  read: ReadPrompt;
}

/**
 * Renders a prompt to a PNG (RGB, exactly width x height) with no network or GPU: an SVG of
 * pictograms (Fluent Emoji Flat, see pictograms.ts) and flat shapes, rasterised by sharp. No
 * text, so missing fonts cannot change the output.
 *
 * The prompt is read by word lists (lexicon.ts): its time of day and weather make the sky, its
 * place the ground and scenery, and every thing it names becomes a large pictogram in front,
 * tinted by its colour word. Figures (story characters) are drawn last, unoccluded, in their
 * signature colours (see signature.ts), which come from the key and the appearance's colour
 * words, so hasFigure can confirm from pixels alone which characters a picture shows and a
 * character stays identical across scenes.
 */
export async function renderSketch(input: SketchRenderInput): Promise<Buffer> {
  return (await renderSketchDetailed(input)).png;
}

export async function renderSketchDetailed(input: SketchRenderInput & { omitSubjects?: boolean }): Promise<SketchRenderResult> {
  validate(input);
  const read = readPrompt(input.prompt);
  if (input.style === 'graphic' || input.style === 'diagram') {
    const png = await renderStyled({ prompt: input.prompt, seed: input.seed, width: input.width, height: input.height, style: input.style, diagramType: input.diagramType, transparent: input.transparent });
    return { png, placed: [], read };
  }
  const { prompt, seed, width, height } = input;
  const figures = input.figures ?? [];
  // Separate streams: adding a figure to a scene must not repaint its background.
  const sceneRng = rngFrom('easel-sketch/scene', prompt, String(seed));
  const subjectRng = rngFrom('easel-sketch/subjects', prompt, String(seed));
  const placeRng = rngFrom('easel-sketch/place', prompt, String(seed));
  // A portrait shows one character; extra figures would only shrink it.
  const shown = input.portrait ? figures.slice(0, 1) : figures;
  const boxes = input.portrait && shown.length === 1 ? [portraitBox(width, height)] : sceneBoxes(shown.length, width, height, placeRng);
  const scene = composeScene(input.portrait ? { ...read, subjects: [] } : read, sceneRng, subjectRng, width, height, boxes);

  const people = shown.map((f, i) => figureSvg(figureSignature(f.key, f.appearance), boxes[i]!, scene.shadow, f.appearance, `f${i}`)).join('');

  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    scene.background +
    (input.omitSubjects ? '' : scene.subjects) +
    scene.overlay +
    // crispEdges: no antialiased blend at figure edges, so figure pixels are exact palette colours.
    `<g shape-rendering="crispEdges">${people}</g></svg>`;

  const png = await sharp(Buffer.from(svg), { density: 72 })
    .removeAlpha()
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
  return { png, placed: input.omitSubjects ? [] : scene.placed, read };
}

function validate(i: SketchRenderInput): void {
  for (const [name, v] of [['width', i.width], ['height', i.height]] as const) {
    if (!Number.isInteger(v) || v < MIN_SIDE || v > MAX_SIDE) {
      throw new RangeError(`${name} must be an integer in ${MIN_SIDE}..${MAX_SIDE}, got ${v}`);
    }
  }
  if (!Number.isSafeInteger(i.seed)) throw new RangeError(`seed must be a safe integer, got ${i.seed}`);
  if (typeof i.prompt !== 'string') throw new TypeError('prompt must be a string');
  const n = i.figures?.length ?? 0;
  if (n > MAX_FIGURES) throw new RangeError(`at most ${MAX_FIGURES} figures, got ${n}`);
}

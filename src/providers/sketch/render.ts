import sharp from 'sharp';
import { figureSvg } from './figure.js';
import { portraitBox, sceneBoxes } from './layout.js';
import { rngFrom } from './prng.js';
import { scenerySvg } from './scene.js';
import { figureSignature } from './signature.js';
import { chooseTheme } from './theme.js';
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

/**
 * Renders a prompt to a PNG (RGB, exactly width x height) with no network or GPU: an SVG of
 * flat shapes rasterised by sharp. No text, so missing fonts cannot change the output.
 *
 * Figures are drawn last, unoccluded, in their signature colours (see signature.ts), so
 * hasFigure can confirm from pixels alone which characters a picture shows. A figure's look
 * depends on its key only; `appearance` is accepted for the provider contract but does not
 * change the pixels, which is what keeps a character identical across scenes.
 */
export async function renderSketch(input: SketchRenderInput): Promise<Buffer> {
  validate(input);
  if (input.style === 'graphic' || input.style === 'diagram') {
    return renderStyled({ prompt: input.prompt, seed: input.seed, width: input.width, height: input.height, style: input.style, diagramType: input.diagramType, transparent: input.transparent });
  }
  const { prompt, seed, width, height } = input;
  const figures = input.figures ?? [];
  // Separate streams: adding a figure to a scene must not repaint its background.
  const sceneRng = rngFrom('easel-sketch/scene', prompt, String(seed));
  const placeRng = rngFrom('easel-sketch/place', prompt, String(seed));
  const theme = chooseTheme(prompt, sceneRng);
  const scenery = scenerySvg(sceneRng, theme, width, height);

  // A portrait shows one character; extra figures would only shrink it.
  const shown = input.portrait ? figures.slice(0, 1) : figures;
  const boxes = input.portrait && shown.length === 1 ? [portraitBox(width, height)] : sceneBoxes(shown.length, width, height, placeRng);
  const people = shown.map((f, i) => figureSvg(figureSignature(f.key), boxes[i]!, scenery.shadow)).join('');

  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    scenery.svg +
    // crispEdges: no antialiased blend at figure edges, so figure pixels are exact palette colours.
    `<g shape-rendering="crispEdges">${people}</g></svg>`;

  return sharp(Buffer.from(svg), { density: 72 })
    .removeAlpha()
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
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

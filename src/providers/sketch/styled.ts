import sharp from 'sharp';
import { diagramSvg, type SketchDiagramType } from './diagram.js';
import { graphicSvg } from './graphic.js';

export type SketchStyle = 'image' | 'graphic' | 'diagram';

export interface StyledRenderInput {
  prompt: string;
  seed: number;
  width: number;
  height: number;
  style: 'graphic' | 'diagram';
  diagramType?: SketchDiagramType;
  /** Graphics only: leave the background empty, so the PNG has an alpha channel with transparent surroundings. */
  transparent?: boolean;
}

/**
 * Rasterises the flat styles. Unlike the scenery style, edges are antialiased
 * (geometricPrecision): clean edges matter here and no figure has to be found in the pixels.
 * A transparent graphic keeps its alpha channel; everything else is flattened to RGB.
 */
export async function renderStyled(input: StyledRenderInput): Promise<Buffer> {
  const { prompt, seed, width, height } = input;
  const transparent = input.style === 'graphic' && input.transparent === true;
  const body =
    input.style === 'graphic' ? graphicSvg(prompt, seed, width, height, transparent) : diagramSvg(prompt, seed, width, height, input.diagramType ?? 'flowchart');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" shape-rendering="geometricPrecision">${body}</svg>`;
  const img = sharp(Buffer.from(svg), { density: 72 });
  return (transparent ? img.ensureAlpha() : img.removeAlpha()).png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();
}

import type { OutputFormat } from '../encode.js';
import { TRAINED_ALGORITHMIC_MEDIA } from '../xmp.js';
import type { C2paCredentials } from './certs.js';
import { coseSign1 } from './cose.js';
import { BufferBlob, c2paWasm } from './wasm.js';

/** Space reserved in the manifest for the COSE signature: a 2-certificate P-256 chain needs ~1.2 KB. */
const RESERVE_SIZE = 12_000;
/** Node has a Blob; the types of c2pa-wasm only promise `Uint8Array<ArrayBuffer>` results. */
type Bytes = Uint8Array<ArrayBuffer>;

export const C2PA_MIME: Record<OutputFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

export interface C2paClaim {
  generator: string;
  generatorVersion: string;
  model: string;
  /** created / edited by a model, or processed by Easel's own (non-generative) image operations. */
  action: 'created' | 'edited' | 'processed';
  createdAt: Date;
  /** Input images of an edit or a processing step (the first is the parent) or a combine; they become ingredients. */
  ingredients?: { bytes: Buffer; mime: string; title: string }[];
  /** For `processed`: the C2PA action that names the step (`c2pa.cropped`, …) and Easel's operation. */
  processing?: { action: string; operation: string; description: string };
}

/**
 * Embeds a signed C2PA manifest into an encoded PNG, JPEG or WebP and returns the new bytes.
 * The manifest's `c2pa.actions.v2` assertion says what happened:
 *   created → `c2pa.created`, digitalSourceType trainedAlgorithmicMedia;
 *   edited  → `c2pa.opened` of the parent ingredient, then `c2pa.edited` with the same source type
 *             (C2PA requires an inception action first; an edit's inception is opening its input);
 *   processed → `c2pa.opened` of the parent, then the step's own action (`c2pa.cropped`, `c2pa.resized`,
 *             …) with no digitalSourceType: the step generated nothing. The parent's own manifest
 *             stays in the chain, so an AI-made input still says so.
 * Each action names Easel as the software agent and carries the model in its parameters.
 */
export class C2paSigner {
  /** One signature at a time: the wasm module is a single instance and signing is short. */
  private chain: Promise<unknown> = Promise.resolve();

  /**
   * Thumbnails off: they would add an encode per format for a preview the outputs already are.
   * Our own trust anchor lets an ingredient made by this server validate as trusted.
   */
  private readonly context: string;

  constructor(readonly credentials: C2paCredentials) {
    this.context = JSON.stringify({
      builder: { thumbnail: { enabled: false } },
      trust: { trust_anchors: credentials.trustAnchorPem },
      verify: { verify_trust: true },
    });
  }

  sign(bytes: Buffer, format: OutputFormat, claim: C2paClaim): Promise<Buffer> {
    const run = this.chain.then(() => this.signNow(bytes, format, claim));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async signNow(bytes: Buffer, format: OutputFormat, claim: C2paClaim): Promise<Buffer> {
    const { WasmBuilder } = c2paWasm();
    const when = claim.createdAt.toISOString();
    const agent = { name: claim.generator, version: claim.generatorVersion };
    const parameters = { 'org.easel.model': claim.model };
    const description = `AI-generated image, ${claim.action} by ${claim.generator} using model ${claim.model}.`;
    const ingredients = claim.ingredients ?? [];
    const parent = (claim.action === 'edited' || claim.action === 'processed') && ingredients.length > 0;
    if (claim.action === 'processed' && (!parent || !claim.processing)) throw new Error('a processed image is signed with its input as ingredient and the step that made it');
    const step = (action: string, rest: Record<string, unknown>) => ({ action, when, softwareAgent: agent, ...rest });
    const generative = { digitalSourceType: TRAINED_ALGORITHMIC_MEDIA, description, parameters };
    // The inception action first: opening the parent, else creating the image.
    const actions: Record<string, unknown>[] = [parent ? step('c2pa.opened', { parameters: { ingredientIds: ['ingredient-0'] } }) : step('c2pa.created', generative)];
    if (claim.action === 'edited') actions.push(step('c2pa.edited', generative));
    if (claim.action === 'processed') {
      const p = claim.processing!;
      const others = ingredients.slice(1).map((_, i) => `ingredient-${i + 1}`);
      actions.push(step(p.action, { description: p.description, parameters: { 'org.easel.operation': p.operation, ...(others.length > 0 ? { ingredientIds: others } : {}) } }));
    }
    const manifest = {
      claim_generator_info: [agent],
      title: `${claim.generator} ${claim.action} image`,
      format: C2PA_MIME[format],
      assertions: [{ label: 'c2pa.actions.v2', data: { actions } }],
    };
    const builder = WasmBuilder.fromJson(JSON.stringify(manifest), this.context);
    try {
      for (const [i, ing] of ingredients.entries()) {
        const def = { title: ing.title, format: ing.mime, relationship: parent && i === 0 ? 'parentOf' : 'componentOf', instance_id: `ingredient-${i}`, label: `ingredient-${i}` };
        try {
          // From the bytes: c2pa-rs hashes the input and, if it carries Content Credentials, keeps its manifest (the chain of custody).
          await builder.addIngredientFromBlob(JSON.stringify(def), ing.mime, new BufferBlob(ing.bytes));
        } catch {
          // A format c2pa-rs cannot parse (e.g. GIF, TIFF) is still named as an ingredient, without its hash.
          builder.addIngredient(JSON.stringify(def));
        }
      }
      const { chain, key } = this.credentials;
      const signed = await builder.sign(
        { alg: 'es256', reserveSize: RESERVE_SIZE, sign: async (claimBytes: Bytes) => new Uint8Array(coseSign1(claimBytes, key, chain, RESERVE_SIZE)) as Bytes },
        [],
        C2PA_MIME[format],
        new BufferBlob(bytes),
      );
      return Buffer.from(signed.buffer, signed.byteOffset, signed.byteLength);
    } finally {
      builder.free();
    }
  }
}

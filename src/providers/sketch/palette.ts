/**
 * The two colour worlds of the sketch renderer, kept apart so figures can be found in pixels.
 *
 * Signature colours (figures only) are fully saturated: HSV S=1, so every one has a channel
 * at 0. Decoration colours (everything else) have every channel >= DECORATION_MIN_CHANNEL.
 * Hence any decoration colour is at least DECORATION_MIN_CHANNEL (euclidean RGB) away from
 * every signature colour. The bound is closed under blending, so gradients, opacity and
 * antialiased edges between decoration shapes can never drift towards a signature colour.
 */
export type Rgb = [number, number, number];

export const DECORATION_MIN_CHANNEL = 64;

const SIGNATURE_HUES = 12; // 30 degrees apart
const SIGNATURE_VALUES = [255, 190, 125];

/**
 * 36 colours. Closest pair is ~62 apart, far beyond the detection tolerance (12) plus JPEG
 * error, so a pixel can match at most one palette colour. DECORATION_MIN_CHANNEL (64) keeps every
 * decoration pixel at least 64 from every signature colour: night skies can be dark blue.
 */
export const SIGNATURE_PALETTE: readonly Rgb[] = SIGNATURE_VALUES.flatMap((v) =>
  Array.from({ length: SIGNATURE_HUES }, (_, i) => hsvFull((i * 360) / SIGNATURE_HUES, v)),
);

function hsvFull(hueDeg: number, v: number): Rgb {
  const f = (k: number) => {
    const x = (k + hueDeg / 60) % 6;
    return Math.round(v * (1 - Math.max(0, Math.min(x, 4 - x, 1))));
  };
  return [f(5), f(3), f(1)];
}

/** A low-saturation tone, clamped into the decoration-safe range whatever the inputs. */
export function muted(hueDeg: number, sat: number, light: number): Rgb {
  const a = sat * Math.min(light, 1 - light);
  const f = (n: number) => {
    const k = (n + hueDeg / 30) % 12;
    const v = light - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.max(DECORATION_MIN_CHANNEL, Math.min(255, Math.round(v * 255)));
  };
  return [f(0), f(8), f(4)];
}

export const hex = (c: Rgb): string => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

export function distance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

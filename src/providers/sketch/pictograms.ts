import fs from 'node:fs';
import { createRequire } from 'node:module';
import { DECORATION_MIN_CHANNEL, type Rgb } from './palette.js';

/**
 * Pictograms: the Fluent Emoji Flat set (Microsoft, MIT; shipped as Iconify JSON inside the npm
 * package @iconify-json/fluent-emoji-flat, see NOTICE) plus a few drawn here for subjects that
 * have no emoji (lighthouse, cliff). Every colour an icon is drawn in goes through `safe()`,
 * which squeezes it into the decoration range (every channel >= DECORATION_MIN_CHANNEL), so a
 * pictogram can never be mistaken for a story character's signature colours (see palette.ts).
 */
interface IconSet {
  icons: Record<string, { body: string; width?: number; height?: number }>;
  aliases?: Record<string, { parent: string }>;
  width?: number;
  height?: number;
}

let set: IconSet | null = null;

/** Loaded once per process, on first use (about 50 ms to parse 9 MB of JSON). */
function icons(): IconSet {
  if (!set) {
    const file = createRequire(import.meta.url).resolve('@iconify-json/fluent-emoji-flat/icons.json');
    set = JSON.parse(fs.readFileSync(file, 'utf8')) as IconSet;
  }
  return set;
}

export function hasIcon(name: string): boolean {
  if (CUSTOM[name]) return true;
  const s = icons();
  return name in s.icons || name in (s.aliases ?? {});
}

/** Colour change for a whole pictogram: a colour word ("red cat") or a night-time dimming. */
export interface Tint {
  /** Target hue in degrees, or null for a neutral (black, white, grey). */
  hue: number | null;
  /** For neutrals and browns: the lightness the icon's mid-tones move to (0..1). */
  light?: number;
  sat?: number;
}

/** One pictogram as an SVG fragment drawn into the box (x, y, size×size), bottom-centred. */
export function pictogramSvg(name: string, x: number, y: number, size: number, tint: Tint | null, uid: string, opacity = 1): string {
  let body: string;
  let vb = 32;
  const custom = CUSTOM[name];
  if (custom) {
    body = custom;
  } else {
    const s = icons();
    const real = s.icons[name] ? name : s.aliases?.[name]?.parent;
    const icon = real ? s.icons[real] : undefined;
    if (!icon) return '';
    body = icon.body;
    vb = icon.width ?? s.width ?? 32;
  }
  // Gradient ids must be unique per placement: the same icon may appear twice in one picture.
  body = body.replace(/id="([^"]+)"/g, `id="$1-${uid}"`).replace(/url\(#([^)]+)\)/g, `url(#$1-${uid})`).replace(/href="#([^"]+)"/g, `href="#$1-${uid}"`);
  body = body.replace(/(fill|stroke|stop-color|color)="(#[0-9a-fA-F]{3,8})"/g, (_m, attr: string, c: string) => `${attr}="${recolour(c, tint)}"`);
  const op = opacity < 1 ? ` opacity="${opacity.toFixed(2)}"` : '';
  return `<svg x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${size.toFixed(1)}" height="${size.toFixed(1)}" viewBox="0 0 ${vb} ${vb}"${op}>${body}</svg>`;
}

function parseHex(c: string): Rgb {
  let h = c.slice(1);
  if (h.length === 3 || h.length === 4) h = h.slice(0, 3).split('').map((d) => d + d).join('');
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

const memo = new Map<string, string>();

function recolour(c: string, tint: Tint | null): string {
  const key = `${c}|${tint ? `${tint.hue}/${tint.light}/${tint.sat}` : ''}`;
  let out = memo.get(key);
  if (out === undefined) {
    let rgb = parseHex(c);
    if (tint) rgb = applyTint(rgb, tint);
    out = `#${safe(rgb).map((v) => v.toString(16).padStart(2, '0')).join('')}`;
    memo.set(key, out);
  }
  return out;
}

/** Linear squeeze of 0..255 into DECORATION_MIN_CHANNEL..255: hue order and contrast survive, pure colours cannot. */
export function safe(c: Rgb): Rgb {
  const k = (255 - DECORATION_MIN_CHANNEL) / 255;
  return c.map((v) => Math.round(DECORATION_MIN_CHANNEL + v * k)) as Rgb;
}

function applyTint([r, g, b]: Rgb, t: Tint): Rgb {
  const [, s, l] = rgbToHsl(r, g, b);
  if (t.hue === null) {
    // Neutrals keep the icon's shading around the target lightness.
    const target = t.light ?? 0.5;
    return hslToRgb(0, 0, clamp01(target + (l - 0.5) * 0.5));
  }
  const sat = t.sat ?? Math.max(0.6, s);
  const light = t.light !== undefined ? clamp01(t.light + (l - 0.5) * 0.5) : clamp01(0.25 + l * 0.6);
  return hslToRgb(t.hue, sat, light);
}

const clamp01 = (v: number) => Math.max(0, Math.min(1, v));

function rgbToHsl(r: number, g: number, b: number): [number, number, number] {
  r /= 255; g /= 255; b /= 255;
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  const h = max === r ? (g - b) / d + (g < b ? 6 : 0) : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return [h * 60, s, l];
}

export function hslToRgb(h: number, s: number, l: number): Rgb {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** Drawn here (32×32 like the emoji) because Unicode has no emoji for them. */
const CUSTOM: Record<string, string> = {
  lighthouse:
    '<path fill="#5b6470" d="M12 30h8v2h-8z"/>' +
    '<path fill="#f1f1f1" d="M12.2 30L13.6 9h4.8l1.4 21z"/>' +
    '<path fill="#e0323b" d="M13.1 16.5h5.8l.45 6.5h-6.7zM12.5 26h7l.3 4h-7.6z"/>' +
    '<path fill="#3d4450" d="M13 7h6v2h-6z"/>' +
    '<path fill="#ffd84d" d="M13.6 3.5h4.8V7h-4.8z"/>' +
    '<path fill="#e0323b" d="M12.8 2.2L16 0l3.2 2.2v1.3h-6.4z"/>' +
    '<path fill="#fff3a8" opacity="0.8" d="M18.4 4L32 0v9.5zM13.6 4L0 0v9.5z"/>',
  cliff:
    '<path fill="#8a7560" d="M0 32V9l5-2l6 1l5-3l7 2l4 4v21z"/>' +
    '<path fill="#6d5a48" d="M20 32l3-10l4-11v21zM4 32l2-9l-2-8l-4 3v14z"/>' +
    '<path fill="#6fa152" d="M0 9l5-2l6 1l5-3l7 2l4 4l-4 1l-6-2l-6 1l-5-1l-6 2z"/>',
};

/** A parsed `vendor_model` string: the main model and optional edit / combine routes. */
export interface VendorModelSpec {
  model: string;
  edit?: { model: string; field?: string };
  combine?: { model: string; field?: string };
}

/**
 * The `vendor_model` string of a catalogue entry for the async vendors: the main model, then
 * optional `edit=<model>[#field]` and `combine=<model>[#field]` routes, whitespace-separated —
 * e.g. "fal-ai/flux-pro/v1.1 edit=fal-ai/flux-pro/kontext combine=fal-ai/flux-pro/kontext/max/multi".
 * Throws (at start-up, from the constructor) on anything else.
 */
export function parseVendorModel(spec: string): VendorModelSpec {
  const parts = spec.trim().split(/\s+/);
  const model = parts.shift();
  if (!model || model.includes('=')) throw new Error(`vendor model "${spec}": the first word must be the model`);
  const out: VendorModelSpec = { model };
  for (const p of parts) {
    const m = /^(edit|combine)=([^#\s]+)(?:#(\S+))?$/.exec(p);
    if (!m) throw new Error(`vendor model "${spec}": "${p}" is not edit=<model>[#field] or combine=<model>[#field]`);
    out[m[1] as 'edit' | 'combine'] = { model: m[2]!, ...(m[3] ? { field: m[3] } : {}) };
  }
  return out;
}

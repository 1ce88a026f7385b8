/**
 * The resolved parameters of a ComfyUI generation (issue 22, reproducibility), read from the
 * workflow the adapter actually sent: ComfyUI itself reports nothing but what the graph said.
 */
import type { ProviderParams } from '../port.js';
import type { Workflow, WorkflowNode } from './workflow.js';

/** Executing one of these runs a sampling loop (and reports `progress` per step); `KSamplerSelect` only picks one. */
export function isSamplerNode(classType: string | undefined): boolean {
  return typeof classType === 'string' && /sampler/i.test(classType) && !/select/i.test(classType);
}

/**
 * Checkpoint (vendor_model), seed, steps, sampler and cfg (guidance) of the first sampler in the
 * graph, each only when it is a literal there (a value linked from another node is not known
 * here, so it is left out rather than guessed). The seed is the graph's: the built-in graphs and
 * a template using {{seed}} carry Easel's seed; a template with a fixed seed carries its own,
 * which is the one that reproduces the image.
 */
export function workflowParams(wf: Workflow): ProviderParams {
  const out: ProviderParams = {};
  const nodes = Object.entries(wf).sort(([a], [b]) => compareIds(a, b));
  const loader = nodes.find(([, n]) => typeof n.inputs.ckpt_name === 'string' || typeof n.inputs.unet_name === 'string');
  if (loader) out.vendor_model = String(loader[1].inputs.ckpt_name ?? loader[1].inputs.unet_name);
  const sampler = nodes.find(([, n]) => isSamplerNode(n.class_type))?.[1];
  if (!sampler) return out;
  const seed = num(sampler, 'seed') ?? num(sampler, 'noise_seed');
  if (seed !== undefined) out.seed = seed;
  const steps = num(sampler, 'steps');
  if (steps !== undefined) out.steps = steps;
  if (typeof sampler.inputs.sampler_name === 'string') out.sampler = sampler.inputs.sampler_name;
  const cfg = num(sampler, 'cfg');
  if (cfg !== undefined) out.guidance = cfg;
  return out;
}

function num(node: WorkflowNode, input: string): number | undefined {
  const v = node.inputs[input];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Node ids are usually numbers: "3" before "10". */
function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

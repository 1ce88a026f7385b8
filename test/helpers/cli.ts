import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './server.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `easel` user command (the real binary), its output collected as it comes. */
export class CliRun {
  stdout = '';
  stderr = '';
  exited: CliResult | null = null;
  readonly done: Promise<CliResult>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.done = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        this.exited = { code, signal, stdout: this.stdout, stderr: this.stderr };
        resolve(this.exited);
      }),
    );
  }

  /** Waits until stderr matches `re` (its first group is returned); fails at once if the CLI exits first. */
  async waitForStderr(re: RegExp, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.stderr);
      if (m) return m[1] ?? m[0];
      if (this.exited) throw new Error(`the CLI exited (${this.exited.code ?? this.exited.signal}) before printing ${re}:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} on stderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Starts `easel ARGS` with a private HOME (so no real config file is read or written) and no
 * EASEL_API_KEY / EASEL_BASE_URL from the outer environment unless given in `env`.
 */
export function startCli(args: string[], env: Record<string, string> = {}, opts: { stdin?: string | Buffer } = {}): CliRun {
  const base = { ...process.env };
  delete base.EASEL_API_KEY;
  delete base.EASEL_BASE_URL;
  delete base.XDG_CONFIG_HOME;
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...base, HOME: env.HOME ?? tmpHome(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  else child.stdin!.end();
  return new CliRun(child);
}

export function runCli(args: string[], env: Record<string, string> = {}, opts: { stdin?: string | Buffer } = {}): Promise<CliResult> {
  return startCli(args, env, opts).done;
}

export function tmpHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'easel-cli-home-'));
}

/** A storyboard with `scenes` scenes, one plain character and one with a state. */
export function storyboard(scenes = 4): Record<string, unknown> {
  const prompts = ['Aria finds an old map in the library', 'Aria meets Bram at the harbour', 'Bram steers through the storm', 'They land on the island at dawn', 'A campfire on the beach', 'The map glows', 'A cave entrance', 'Treasure'];
  return {
    characters: [
      { name: 'Aria', appearance: 'a young librarian with red hair and round glasses' },
      { name: 'Bram', appearance: 'an old sailor with a grey beard', states: { storm: { appearance: 'in a soaked yellow oilskin coat' } } },
    ],
    scenes: Array.from({ length: scenes }, (_, i) => ({
      prompt: prompts[i % prompts.length]!,
      characters: i === 2 ? [{ name: 'Bram', state: 'storm' }] : i === 0 ? ['Aria'] : ['Aria', 'Bram'],
    })),
  };
}

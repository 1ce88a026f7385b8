import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_BASE_URL, Easel, EaselApiError, EaselError, EaselJobFailedError, shortId } from '../../sdk/index.js';

/** The CLI's exit codes (the public CLI's table). */
export const EXIT = { ok: 0, general: 1, auth: 2, credits: 3, rejected: 4, rateLimited: 5 } as const;

/** Where `easel login` keeps the key: ~/.config/easel/config.json (or $XDG_CONFIG_HOME/easel), mode 0600. */
export function configPath(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'easel', 'config.json');
}

export interface StoredConfig {
  api_key?: string;
  base_url?: string;
}

export function readConfig(): StoredConfig {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(configPath(), 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as StoredConfig) : {};
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError('config_invalid', `${configPath()} is not valid JSON; fix it or run "easel login" again.`);
  }
}

export function writeConfig(cfg: StoredConfig): string {
  const file = configPath();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  return file;
}

/** A failure found on this side (bad arguments, unreadable files); printed like a server error. */
export class CliError extends EaselError {
  constructor(
    code: string,
    message: string,
    readonly exitCode: number = EXIT.general,
  ) {
    super(code, message);
    this.name = 'CliError';
  }
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof CliError) return e.exitCode;
  if (e instanceof EaselApiError) {
    if (e.status === 401) return EXIT.auth;
    if (e.status === 402) return EXIT.credits;
    if (e.status === 429) return EXIT.rateLimited;
    if (e.code === 'content_rejected' && (e.status === 403 || e.status === 451)) return EXIT.rejected;
    if (e.status === 403 && (e.code === 'account_suspended' || e.code.startsWith('auth_'))) return EXIT.auth;
    return EXIT.general;
  }
  if (e instanceof EaselJobFailedError) {
    if (e.code === 'insufficient_credits') return EXIT.credits;
    if (e.code === 'content_rejected') return EXIT.rejected;
  }
  return EXIT.general;
}

/** `error: <code>: <message> (request <id>)` — never a stack trace. */
export function formatError(e: unknown): string {
  if (e instanceof EaselApiError) return `error: ${e.code}: ${e.message}${e.requestId ? ` (request ${e.requestId})` : ''}`;
  if (e instanceof EaselJobFailedError) return `error: ${e.code}: ${e.message} (job ${e.job.job_id})`;
  if (e instanceof EaselError) return `error: ${e.code}: ${e.message}`;
  const msg = e instanceof Error ? e.message : String(e);
  return `error: internal: ${msg.split('\n')[0]}`;
}

export type OutputMode = 'json' | 'human' | 'pipe';

export interface ClientFlags {
  apiKey?: string;
  baseUrl?: string;
  json?: boolean;
  maxRetries?: number;
}

export interface Ctx {
  easel: Easel;
  mode: OutputMode;
  baseUrl: string;
  /** Human-facing notes (progress, hints) go to stderr so stdout stays a clean result. */
  note(line: string): void;
  /** One result line on stdout. */
  out(line: string): void;
  json(value: unknown): void;
}

export function makeCtx(flags: ClientFlags, opts: { needsKey?: boolean } = {}): Ctx {
  const cfg = readConfig();
  const apiKey = flags.apiKey || process.env.EASEL_API_KEY || cfg.api_key;
  const baseUrl = flags.baseUrl || process.env.EASEL_BASE_URL || cfg.base_url || DEFAULT_BASE_URL;
  if (opts.needsKey !== false && !apiKey) {
    throw new CliError('auth_missing', 'No API key: pass --api-key, set EASEL_API_KEY, or run "easel login --api-key esl_…".', EXIT.auth);
  }
  const easel = new Easel({ ...(apiKey ? { apiKey } : {}), baseUrl, ...(flags.maxRetries !== undefined ? { maxRetries: flags.maxRetries } : {}) });
  const mode: OutputMode = flags.json ? 'json' : process.stdout.isTTY ? 'human' : 'pipe';
  return {
    easel,
    mode,
    baseUrl,
    note: (line) => process.stderr.write(line + '\n'),
    out: (line) => process.stdout.write(line + '\n'),
    json: (value) => process.stdout.write(JSON.stringify(value, null, 2) + '\n'),
  };
}

const nonNegativeInt = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('Not a whole number.');
  return Number(v);
};
/** An integer option value; commander reports a bad one as a usage error (exit 1). */
export const intArg = (v: string) => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError('Not a whole number.');
  return Number(v);
};

/** The options every user command takes: where the API is, the key, JSON output, retries. */
export function clientOptions(cmd: Command): Command {
  return cmd
    .option('--api-key <key>', 'API key (else EASEL_API_KEY, else the config file written by "easel login")')
    .option('--base-url <url>', `API base URL (else EASEL_BASE_URL, else the config file, else ${DEFAULT_BASE_URL})`)
    .option('--json', 'print the full JSON answer on stdout')
    .addOption(new Option('--max-retries <n>', 'retries of 429 and 5xx answers (Retry-After honoured)').argParser(nonNegativeInt));
}

/**
 * Runs a command's body: prints any failure as `error: <code>: <message> (request <id>)` and exits
 * with the contract's code (0 ok, 1 general, 2 auth, 3 credits, 4 content rejected, 5 rate limited).
 */
export function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number = EXIT.ok;
    try {
      await fn(...args);
    } catch (e) {
      process.stderr.write(formatError(e) + '\n');
      code = exitCodeFor(e);
    }
    // Exit now: idle keep-alive sockets must not hold the process open.
    process.exit(code);
  };
}

/**
 * `image-20261128-143022-7f3a91c2`: local time, plus the job's short id (the random end of its
 * UUIDv7, not its time prefix, which jobs made within a minute share) so names never collide.
 */
export function stamp(kind: string, id?: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const t = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  return `${kind}-${t}${id ? `-${shortId(id)}` : ''}`;
}

/** "9.980000" → "€9.98" for people; the exact string stays in --json. */
export function eur(s: string | undefined): string {
  if (s === undefined) return '—';
  const n = Number(s);
  return Number.isFinite(n) ? `€${n.toFixed(Math.abs(n) < 0.1 && n !== 0 ? 3 : 2)}` : s;
}

import fs from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_BASE_URL, Easel, EaselApiError } from '../../sdk/index.js';
import { clientOptions, CliError, configPath, eur, makeCtx, readConfig, run, writeConfig, type ClientFlags } from './context.js';

export function registerAccountCommands(program: Command): void {
  program
    .command('login')
    .description(`store an API key (and base URL) in the config file (${configPath().replace(process.env.HOME ?? '\0', '~')}, mode 0600); the key may also come on stdin`)
    .option('--api-key <key>', 'the key, esl_…')
    .option('--base-url <url>', `the API base URL (else EASEL_BASE_URL, else the config file's, else ${DEFAULT_BASE_URL})`)
    .option('--no-verify', 'save without asking the server whether the key works (offline set-up)')
    .action(
      run(async (o: { apiKey?: string; baseUrl?: string; verify: boolean }) => {
        let key = o.apiKey;
        if (!key && !process.stdin.isTTY) key = fs.readFileSync(0, 'utf8').trim();
        if (!key) throw new CliError('invalid_argument', 'Give the key with --api-key esl_… (or on stdin).');
        if (!/^esl_\S+$/.test(key)) throw new CliError('invalid_argument', 'Easel keys start with "esl_".');
        if (o.baseUrl && !/^https?:\/\//.test(o.baseUrl)) throw new CliError('invalid_argument', '--base-url must be an http(s) URL.');
        const prior = readConfig();
        const baseUrl = (o.baseUrl || process.env.EASEL_BASE_URL || prior.base_url || DEFAULT_BASE_URL).replace(/\/+$/, '');
        if (o.verify) {
          // The key and the base URL are checked together before anything is saved: a typo in
          // either is reported now, not at the first real command.
          let balance: string;
          try {
            balance = (await new Easel({ apiKey: key, baseUrl, maxRetries: 0 }).profile()).user.balance_eur;
          } catch (e) {
            if (e instanceof EaselApiError) throw e;
            throw new CliError('connection_failed', `Cannot reach an Easel server at ${baseUrl} (${(e as Error).message}); check --base-url, or pass --no-verify to save anyway.`);
          }
          process.stdout.write(`key accepted by ${baseUrl} (balance €${balance})\n`);
        }
        const file = writeConfig({ ...prior, api_key: key, ...(o.baseUrl ? { base_url: o.baseUrl.replace(/\/+$/, '') } : {}) });
        process.stdout.write(`saved to ${file}\n`);
      }),
    );

  clientOptions(program.command('models').description('the model catalogue: ids, aliases, operations, approximate prices')).action(
    run(async (o: ClientFlags) => {
      const ctx = makeCtx(o);
      const list = await ctx.easel.models();
      if (ctx.mode === 'json') return ctx.json(list);
      for (const m of list.models) {
        if (ctx.mode === 'pipe') ctx.out(m.id);
        else {
          const aliases = m.aliases.length ? ` (${m.aliases.join(', ')})` : '';
          ctx.out(`${(m.id + aliases).padEnd(40)} ${m.operations.join(',').padEnd(22)} ${m.supports_multiturn ? 'stories  ' : '         '} ~${eur(m.approximate_cost_eur)}`);
        }
      }
      if (ctx.mode === 'human') ctx.out(list.disclaimer);
    }),
  );

  clientOptions(program.command('balance').description('spendable balance and the amount held by running generations')).action(
    run(async (o: ClientFlags) => {
      const ctx = makeCtx(o);
      const { user } = await ctx.easel.profile();
      if (ctx.mode === 'json') return ctx.json(user);
      if (ctx.mode === 'pipe') return ctx.out(user.balance_eur);
      ctx.out(`Balance: €${user.balance_eur}  (held: €${user.held_eur})`);
    }),
  );
}

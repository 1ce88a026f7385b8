import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lastStepCount, loggedSeed } from '../../src/providers/vendor/log-steps.js';
import { progressReporter } from '../../src/providers/vendor/progress.js';
import { readSse, type SseEvent } from '../../src/providers/vendor/sse.js';

describe('step counters in model-server logs', () => {
  it('reads tqdm bars, "step N/M" and "Step N of M"; the last counter wins', () => {
    assert.deepEqual(lastStepCount(' 45%|████▌     | 9/20 [00:01<00:02, 5.1it/s]'), { step: 9, steps: 20 });
    assert.deepEqual(lastStepCount('step 12/28'), { step: 12, steps: 28 });
    assert.deepEqual(lastStepCount('Step 3 of 30 done'), { step: 3, steps: 30 });
    assert.deepEqual(lastStepCount('  0%|          | 0/4 [00:00<?, ?it/s]\n 50%|█████     | 2/4 [00:00<00:00]\n100%|██████████| 4/4 [00:01<00:00]'), { step: 4, steps: 4 });
  });

  it('ignores what only looks like a counter', () => {
    assert.equal(lastStepCount('saved to /tmp/outputs/1/2.png'), null);
    assert.equal(lastStepCount('date 2024/05/01'), null);
    assert.equal(lastStepCount('ratio 30/20 is not a step'), null, 'step beyond steps');
    assert.equal(lastStepCount('Loading pipeline components...'), null);
  });

  it('reads "Using seed: N"', () => {
    assert.equal(loggedSeed('Using seed: 1234\nstep 1/4'), 1234);
    assert.equal(loggedSeed('no seed here'), null);
  });
});

describe('the SSE reader', () => {
  async function all(chunks: string[]): Promise<SseEvent[]> {
    const out: SseEvent[] = [];
    for await (const e of readSse((async function* () {
      for (const c of chunks) yield Buffer.from(c, 'utf8');
    })())) out.push(e);
    return out;
  }

  it('splits events on blank lines, across chunk boundaries and CRLF / CR line ends, joining data lines', async () => {
    const events = await all(['event: a\r', '\ndata: {"x"', ':1}\r\n\r\n: comment\n\nevent: b\ndata: one\ndata: two\n\n', 'data:three\r\r']);
    assert.deepEqual(events, [
      { event: 'a', data: '{"x":1}' },
      { event: 'b', data: 'one\ntwo' },
      { event: 'message', data: 'three' },
    ]);
  });

  it('a multi-byte character split between chunks survives', async () => {
    const bytes = Buffer.from('data: é\n\n', 'utf8');
    const out: SseEvent[] = [];
    for await (const e of readSse((async function* () {
      yield bytes.subarray(0, 7);
      yield bytes.subarray(7);
    })())) out.push(e);
    assert.deepEqual(out, [{ event: 'message', data: 'é' }]);
  });

  it('refuses an event larger than the limit instead of buffering it', async () => {
    const big = `data: ${'x'.repeat(5000)}\n\n`;
    await assert.rejects(async () => {
      for await (const e of readSse((async function* () {
        yield Buffer.from(big);
      })(), 1000)) void e;
    }, /larger than 1000 bytes/);
  });
});

describe('progressReporter', () => {
  it('passes progress on until the signal aborts, and swallows a throwing sink', () => {
    const seen: string[] = [];
    const ac = new AbortController();
    const r = progressReporter((p) => {
      seen.push(p.stage);
      if (p.stage === 'loading') throw new Error('sink bug');
    }, ac.signal);
    r({ stage: 'queued' });
    r({ stage: 'loading' });
    ac.abort();
    r({ stage: 'sampling' });
    assert.deepEqual(seen, ['queued', 'loading']);
  });
});

/**
 * resumableSse: a call's SSE stream followed across its target's closes (SEP-1699 polling) until
 * the response, and left as it came when it cannot or need not be resumed.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type ResumeResult, resumableSse } from '../../../src/proxy/upstream/sse-resume.js';

const PRIMING = 'id: e1\nretry: 0\ndata: \n\n';
const progress = (n: number, id: string) =>
  `event: message\nid: ${id}\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":${n}}}\n\n`;
const RESPONSE = 'event: message\nid: e9\ndata: {"jsonrpc":"2.0","id":7,"result":{}}\n\n';

const answers = (data: string) => data.includes('"id":7');

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += (chunk as Buffer).toString();
  return out;
}

function follower(first: string[], ...later: Array<string[] | undefined | Error>) {
  const asked: string[] = [];
  const results: ResumeResult[] = [];
  const stream = resumableSse(Readable.from(first.map((s) => Buffer.from(s))), {
    target: 't',
    answers,
    resume: async (lastEventId) => {
      asked.push(lastEventId);
      const next = later.shift();
      if (next instanceof Error) throw next;
      return next && Readable.from(next.map((s) => Buffer.from(s)));
    },
    onResume: (result) => results.push(result),
    maxResumes: 3,
  });
  return { stream, asked, results };
}

describe('resumableSse', () => {
  it('passes a stream without event ids through as it came, never resuming', async () => {
    const body = ['event: message\ndata: {"jsonrpc":"2.0","method":"x"}\n\n'];
    const { stream, asked } = follower(body, [RESPONSE]);
    expect(await text(stream)).toBe(body.join(''));
    expect(asked).toEqual([]);
  });

  it('takes a stream closed after its priming event back up after the last id, to the response', async () => {
    const started = performance.now();
    const { stream, asked, results } = follower([PRIMING], [progress(1, 'e2'), RESPONSE]);
    expect(await text(stream)).toBe(PRIMING + progress(1, 'e2') + RESPONSE);
    expect(asked).toEqual(['e1']);
    expect(results).toEqual(['resumed']);
    // `retry: 0` is not a tight loop: at least 100 ms between the close and the GET.
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('asks each time after the latest id, across resumed connections', async () => {
    const { stream, asked, results } = follower(
      [PRIMING, progress(1, 'e2')],
      [progress(2, 'e3')],
      [RESPONSE],
    );
    expect(await text(stream)).toBe(PRIMING + progress(1, 'e2') + progress(2, 'e3') + RESPONSE);
    expect(asked).toEqual(['e2', 'e3']);
    expect(results).toEqual(['resumed', 'resumed']);
  });

  it('does not resume a stream that ended after its response', async () => {
    const { stream, asked } = follower([PRIMING, RESPONSE], [progress(1, 'x')]);
    expect(await text(stream)).toBe(PRIMING + RESPONSE);
    expect(asked).toEqual([]);
  });

  it('does not resume a stream whose response came before its first event id', async () => {
    const late = 'event: message\nid: e5\ndata: {"jsonrpc":"2.0","method":"notifications/message"}\n\n';
    const { stream, asked } = follower(
      ['event: message\ndata: {"jsonrpc":"2.0","id":7,"result":{}}\n\n', late],
      [RESPONSE],
    );
    expect(await text(stream)).toContain(late);
    expect(asked).toEqual([]);
  });

  it('does not resume a stream cut inside an event (that event is lost, so nothing after it fits)', async () => {
    const cut = 'event: message\nid: e2\ndata: {"jsonrpc":"2.0",';
    const { stream, asked } = follower([PRIMING, cut], [RESPONSE]);
    expect(await text(stream)).toBe(PRIMING + cut);
    expect(asked).toEqual([]);
  });

  it.each([
    ['answers 405 (no body)', undefined, 'it answered the resuming GET with 405'],
    ['refuses (a throw)', new Error('HTTP 400'), 'resuming it failed: HTTP 400'],
  ])("fails with the call's error when the target %s", async (_, refusal, why) => {
    const { stream, asked, results } = follower([PRIMING], refusal);
    let got = '';
    stream.on('data', (chunk: Buffer) => {
      got += chunk.toString();
    });
    await expect(text(stream)).rejects.toThrow(`target "t" ended its stream without a response (${why})`);
    expect(got).toBe(PRIMING);
    expect(asked).toEqual(['e1']);
    expect(results).toEqual(['refused']);
  });

  it('fails rather than send back an event id over 1,024 characters', async () => {
    const { stream, asked } = follower([`id: ${'x'.repeat(1025)}\ndata: \n\n`], [RESPONSE]);
    await expect(text(stream)).rejects.toThrow('its last event id is over 1024 characters');
    expect(asked).toEqual([]);
  });

  it('fails after maxResumes resumptions of one call', async () => {
    const { stream, asked, results } = follower(
      [PRIMING],
      [progress(1, 'e2')],
      [progress(2, 'e3')],
      [progress(3, 'e4')],
      [RESPONSE],
    );
    let got = '';
    stream.on('data', (chunk: Buffer) => {
      got += chunk.toString();
    });
    await expect(text(stream)).rejects.toThrow(
      'target "t" ended its stream without a response (closed it 4 times)',
    );
    expect(got).toBe(PRIMING + progress(1, 'e2') + progress(2, 'e3') + progress(3, 'e4'));
    expect(asked).toEqual(['e1', 'e2', 'e3']);
    expect(results).toEqual(['resumed', 'resumed', 'resumed', 'exhausted']);
  });

  it('asks nothing more once destroyed while waiting to resume', async () => {
    const { stream, asked } = follower([PRIMING], [RESPONSE]);
    stream.on('data', () => {}).on('error', () => {});
    await new Promise((resolve) => stream.once('data', resolve));
    await new Promise((resolve) => setTimeout(resolve, 20)); // the body has ended: waiting now
    stream.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(asked).toEqual([]);
  });

  it('destroys a resumed body when the stream is destroyed', async () => {
    let resumedBody: Readable | undefined;
    const stream = resumableSse(Readable.from([Buffer.from(PRIMING)]), {
      target: 't',
      answers,
      resume: async () => {
        // A body that never ends by itself (a target holding the stream open).
        resumedBody = new Readable({ read() {} });
        resumedBody.push(progress(1, 'e2'));
        return resumedBody;
      },
    });
    const seen: string[] = [];
    stream.on('data', (chunk: Buffer) => seen.push(chunk.toString())).on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(seen.join('')).toBe(PRIMING + progress(1, 'e2'));
    stream.destroy();
    expect(resumedBody?.destroyed).toBe(true);
  });

  it('fails when a body breaks off (not an end): nothing is resumed', async () => {
    const broken = new Readable({ read() {} });
    const asked: string[] = [];
    const stream = resumableSse(broken, {
      target: 't',
      answers,
      resume: async (id) => {
        asked.push(id);
        return undefined;
      },
    });
    broken.push(PRIMING);
    setTimeout(() => broken.destroy(new Error('socket hang up')), 10);
    await expect(text(stream)).rejects.toThrow('socket hang up');
    expect(asked).toEqual([]);
  });
});

import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onAbort } from '../../src/shared/abort-hooks.js';

describe('onAbort', () => {
  it('runs the callbacks still registered, once, in order, when the signal aborts', () => {
    const controller = new AbortController();
    const ran: string[] = [];
    onAbort(controller.signal, () => ran.push('a'));
    const off = onAbort(controller.signal, () => ran.push('b'));
    onAbort(controller.signal, () => ran.push('c'));
    off();
    controller.abort();
    controller.abort();
    expect(ran).toEqual(['a', 'c']);
  });

  it('on an aborted signal: runs at once; unregistering afterwards is harmless', () => {
    const ran: string[] = [];
    const off = onAbort(AbortSignal.abort(), () => ran.push('now'));
    expect(ran).toEqual(['now']);
    off();
  });

  it('a connection signal used by many calls holds one listener, and no callbacks once they unregistered', () => {
    const controller = new AbortController();
    let ran = 0;
    for (let call = 0; call < 10_000; call++) onAbort(controller.signal, () => (ran += 1))();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect(ran).toBe(0);
  });
});

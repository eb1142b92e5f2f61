import { describe, expect, it } from 'vitest';
import { KeyRing } from '../../../../src/proxy/mcp/session/key-ring.js';
import {
  openRequestState,
  REQUEST_STATE_TTL_MS,
  sealRequestState,
} from '../../../../src/proxy/mcp/session/request-state.js';

const ring = KeyRing.random();
const call = { backend: 'ns/b', principal: 'alice', method: 'tools/call', name: 'weather_get' };

describe('request-state envelope', () => {
  it('gives the target back exactly the state it issued, on any replica holding the key', () => {
    const sealed = sealRequestState(ring, call, 'opaque-upstream-state');
    expect(sealed).not.toContain('opaque');
    expect(openRequestState(ring, call, sealed)).toBe('opaque-upstream-state');
  });

  it('refuses an altered envelope', () => {
    const sealed = sealRequestState(ring, call, 'x');
    const last = sealed.at(-2) === 'A' ? 'B' : 'A';
    const altered = `${sealed.slice(0, -2)}${last}${sealed.at(-1)}`;
    expect(openRequestState(ring, call, altered)).toBeUndefined();
    expect(openRequestState(ring, call, 'not-an-envelope')).toBeUndefined();
  });

  it('refuses a state for another call, identity, backend or method', () => {
    const sealed = sealRequestState(ring, call, 'x');
    expect(openRequestState(ring, { ...call, name: 'other_tool' }, sealed)).toBeUndefined();
    expect(openRequestState(ring, { ...call, principal: 'mallory' }, sealed)).toBeUndefined();
    expect(openRequestState(ring, { ...call, backend: 'ns/other' }, sealed)).toBeUndefined();
    expect(openRequestState(ring, { ...call, method: 'prompts/get' }, sealed)).toBeUndefined();
  });

  it('refuses an expired state and one sealed with another key', () => {
    const sealed = sealRequestState(ring, call, 'x', 0);
    expect(openRequestState(ring, call, sealed, REQUEST_STATE_TTL_MS + 1)).toBeUndefined();
    expect(openRequestState(KeyRing.random(), call, sealRequestState(ring, call, 'x'))).toBeUndefined();
  });

  it('never opens a session id sealed with the same keys', () => {
    const token = ring.seal(JSON.stringify({ ...call, state: 'x', expires: Date.now() + 60_000 }));
    expect(openRequestState(ring, call, token)).toBeUndefined();
  });
});

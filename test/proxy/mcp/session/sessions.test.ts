/** Session sealing (key ring, token contents) and the bounded session store. */
import { describe, expect, it } from 'vitest';
import { KeyRing } from '../../../../src/proxy/mcp/session/key-ring.js';
import { Session } from '../../../../src/proxy/mcp/session/session.js';
import { SessionStore } from '../../../../src/proxy/mcp/session/session-store.js';

describe('KeyRing', () => {
  const ring = KeyRing.fromSpec(`a:${'ab'.repeat(32)}`);

  it('seals and opens; a flipped bit, a foreign key or garbage do not open', () => {
    const token = ring.seal('{"x":1}');
    expect(token).toMatch(/^a\.[A-Za-z0-9_-]+$/);
    expect(ring.open(token)).toBe('{"x":1}');
    const flipped = token.slice(0, -3) + (token.at(-3) === 'A' ? 'B' : 'A') + token.slice(-2);
    expect(ring.open(flipped)).toBeUndefined();
    expect(KeyRing.random().open(token)).toBeUndefined();
    expect(ring.open('garbage')).toBeUndefined();
    expect(ring.open('a.')).toBeUndefined();
  });

  it('rejects bad specs without echoing the key', () => {
    expect(() => KeyRing.fromSpec('')).toThrow(/empty/);
    expect(() => KeyRing.fromSpec('k:1234')).toThrow(/64 hex/);
    expect(() => KeyRing.fromSpec(`bad id:${'00'.repeat(32)}`)).toThrow(/key id/);
    expect(() => KeyRing.fromSpec(`k:${'00'.repeat(32)},k:${'11'.repeat(32)}`)).toThrow(/twice/);
    expect(() => KeyRing.fromSpec('k:zz')).not.toThrow(/zz/);
    expect(KeyRing.random().ephemeral).toBe(true);
  });
});

describe('sessions', () => {
  const ring = KeyRing.random();
  const target = {
    name: 'a',
    sessionId: 'up-1',
    endpoint: { address: '::1', port: 9 },
    protocolVersion: '2025-06-18',
    flags: 'tp',
  };

  it('round-trip through the sealed token', () => {
    const session = Session.create(ring, 'backend', '2025-06-18', { capabilities: {} }, [target]);
    const opened = Session.open(ring, session.token)!;
    expect(opened.backendId).toBe('backend');
    expect(opened.targets.get('a')).toEqual(target);
  });

  it('the store evicts the oldest idle session over capacity and after the idle TTL', () => {
    const evicted: string[] = [];
    const store = new SessionStore(ring, 1000, 2, (s, reason) =>
      evicted.push(`${s.clientParams.n}:${reason}`),
    );
    const make = (n: number) => Session.create(ring, 'b', 'v', { n }, []);
    const [one, two, three] = [make(1), make(2), make(3)];
    store.add(one);
    store.add(two);
    expect('session' in store.get(one.token, 'b')).toBe(true);
    store.add(three);
    expect(evicted).toEqual(['2:capacity']);
    store.sweep(performance.now() + 5000);
    expect(evicted).toEqual(['2:capacity', '1:idle', '3:idle']);
    // Evicted for capacity is not gone: the sealed token reopens it (another replica would too).
    expect('session' in store.get(two.token, 'b')).toBe(true);
    // Idle past the TTL: this process answers 404 from now on.
    expect(store.get(one.token, 'b')).toEqual({ missing: 'expired' });
    expect(store.get(two.token, 'other')).toEqual({ missing: 'other-backend' });
    const four = make(4);
    store.add(four);
    store.delete(four);
    expect(store.get(four.token, 'b')).toEqual({ missing: 'deleted' });
    store.close();
  });

  it('capacity eviction passes over sessions with a call in flight (their client is there)', () => {
    const evicted: string[] = [];
    const store = new SessionStore(ring, 60_000, 2, (s, reason) =>
      evicted.push(`${s.clientParams.n}:${reason}`),
    );
    const make = (n: number) => Session.create(ring, 'b', 'v', { n }, []);
    const [one, two, three] = [make(1), make(2), make(3)];
    store.add(one);
    store.add(two);
    one.requestIds.add(7); // a long tool call on the least recently used session
    store.add(three);
    expect(evicted).toEqual(['2:capacity']);
    expect(store.size).toBe(2);
    // When every older session is busy the cache runs over its cap rather than cut a client off.
    three.requestIds.add(1);
    store.add(make(4));
    expect(evicted).toEqual(['2:capacity']);
    expect(store.size).toBe(3);
    store.close();
  });
});

/** Session sealing (key ring, token contents) and the bounded session store. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeyRing, parseToken } from '../../../../src/proxy/mcp/session/key-ring.js';
import { Revocations } from '../../../../src/proxy/mcp/session/revocations.js';
import { Session } from '../../../../src/proxy/mcp/session/session.js';
import {
  type EvictReason,
  REORDER_MS,
  SessionStore,
} from '../../../../src/proxy/mcp/session/session-store.js';
import { backendOf, targetOf } from '../../../support/mcp-harness.js';

describe('KeyRing', () => {
  const ring = KeyRing.fromSpec(`a:${'ab'.repeat(32)}`);

  it('seals and opens; a flipped bit, a foreign key or garbage do not open', () => {
    const token = ring.seal('{"x":1}');
    expect(token).toMatch(/^a\.[A-Za-z0-9_-]+$/);
    expect(ring.open(token)?.toString()).toBe('{"x":1}');
    const flipped = token.slice(0, -3) + (token.at(-3) === 'A' ? 'B' : 'A') + token.slice(-2);
    expect(ring.open(flipped)).toBeUndefined();
    expect(KeyRing.random().open(token)).toBeUndefined();
    expect(ring.open('garbage')).toBeUndefined();
    expect(ring.open('a.')).toBeUndefined();
  });

  it('opens only the canonical spelling: no padding, no stray characters, no other trailing bits', () => {
    // 7 plaintext bytes + 28 → 35 bytes: the last base64url character carries 2 unused bits.
    const token = ring.seal('1234567');
    expect(ring.open(token)).toBeDefined();
    const last = token.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // Same 6-bit value in the used bits, other unused bits: Buffer.from decodes it to the same bytes.
    const sibling = alphabet[(alphabet.indexOf(last) & ~3) | ((alphabet.indexOf(last) + 1) & 3)]!;
    const respelt = token.slice(0, -1) + sibling;
    expect(Buffer.from(respelt.split('.')[1]!, 'base64url')).toEqual(
      Buffer.from(token.split('.')[1]!, 'base64url'),
    );
    for (const variant of [`${token}=`, `${token}==`, `${token}\tx`, `${token}.`, ` ${token}`, respelt]) {
      expect(parseToken(variant), JSON.stringify(variant)).toBeUndefined();
      expect(ring.open(variant), JSON.stringify(variant)).toBeUndefined();
    }
    // The id (what revocations name) is the nonce, a prefix of the canonical token.
    expect(parseToken(token)?.id).toBe(token.slice(2, 18));
  });

  it('rejects bad specs without echoing the key', () => {
    expect(() => KeyRing.fromSpec('')).toThrow(/empty/);
    expect(() => KeyRing.fromSpec('k:1234')).toThrow(/64 hex/);
    expect(() => KeyRing.fromSpec(`bad id:${'00'.repeat(32)}`)).toThrow(/key id/);
    expect(() => KeyRing.fromSpec(`k:${'00'.repeat(32)},k:${'11'.repeat(32)}`)).toThrow(/twice/);
    expect(() => KeyRing.fromSpec('k:zz')).not.toThrow(/zz/);
    expect(KeyRing.random().ephemeral).toBe(true);
  });

  it('derives per-purpose keys from every key; the first derives the current one', () => {
    const rotated = KeyRing.fromSpec(`b:${'cd'.repeat(32)},a:${'ab'.repeat(32)}`);
    const one = ring.derive('peers');
    const two = rotated.derive('peers');
    expect(two.current.kid).toBe('b');
    expect(two.all.get('a')).toEqual(one.all.get('a'));
    expect(one.current.key).not.toEqual(ring.derive('other').current.key);
    expect(one.current.key.toString('hex')).not.toContain('ab'.repeat(8));
  });
});

const WORLD = backendOf([targetOf('a', 9)]);
const store = (maxSessions: number, idleTtlMs = 60_000, maxLifetimeMs = 3_600_000) => {
  const evicted: string[] = [];
  const revocations = new Revocations({ maxEntries: 100, lifetimeMs: maxLifetimeMs });
  const sessions = new SessionStore(
    ring,
    { idleTtlMs, maxSessions, maxLifetimeMs },
    revocations,
    (s, reason) =>
      evicted.push(
        `${s.clientParams.clientInfo && (s.clientParams.clientInfo as { name: string }).name}:${reason}`,
      ),
  );
  return { sessions, evicted, revocations };
};
const ring = KeyRing.random();
const make = (n: number, issuedAt = Date.now()) =>
  Session.create(ring, WORLD, '2025-06-18', { clientInfo: { name: String(n), version: '1' } }, [], issuedAt);
const add = (s: SessionStore, session: Session) => {
  expect(s.reserve()).toBe(true);
  s.add(session);
};
const reasons = (list: string[]): EvictReason[] => list.map((e) => e.split(':')[1] as EvictReason);

describe('sessions', () => {
  const target = {
    name: 'a',
    sessionId: 'up-1',
    endpoint: { address: '::1', port: 9 },
    protocolVersion: '2025-06-18',
    flags: 'tp',
  };

  it('round-trip through the sealed token', () => {
    const session = Session.create(ring, WORLD, '2025-06-18', { capabilities: {} }, [target]);
    const opened = Session.open(ring, session.token, WORLD) as Session;
    expect(opened.backendId).toBe(WORLD.id);
    expect(opened.id).toBe(session.id);
    expect(opened.issuedAt).toBe(session.issuedAt);
    expect(opened.targets.get('a')).toEqual(target);
    expect(Session.open(ring, session.token, backendOf([targetOf('a', 9)], { name: 'other' }))).toBe(
      'other-backend',
    );
  });

  it('idle past the TTL leaves memory only: the token reopens', () => {
    const { sessions, evicted } = store(10, 1000);
    const one = make(1);
    add(sessions, one);
    sessions.sweep(performance.now() + 5000);
    expect(evicted).toEqual(['1:idle']);
    const found = sessions.get(one.token, WORLD);
    expect('session' in found && found.session.id).toBe(one.id);
    sessions.close();
  });

  describe('eviction order', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['performance'] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    /** Two sessions at capacity 2; the first used again `afterMs` later; then a third arrives. */
    function reuseThenFill(afterMs: number) {
      const { sessions, evicted } = store(2);
      const [one, two, three] = [make(1), make(2), make(3)];
      add(sessions, one);
      add(sessions, two);
      vi.advanceTimersByTime(afterMs);
      const found = sessions.get(one.token, WORLD);
      add(sessions, three);
      return { sessions, evicted, found, two };
    }

    it('over capacity the least recently used idle session leaves memory, and reopens from its token', () => {
      const { sessions, evicted, found, two } = reuseThenFill(REORDER_MS);
      expect('session' in found).toBe(true);
      expect(evicted).toEqual(['2:capacity']);
      expect('session' in sessions.get(two.token, WORLD)).toBe(true);
      expect(sessions.size).toBe(2);
      expect(sessions.get(two.token, backendOf([targetOf('a', 9)], { name: 'x' }))).toEqual({
        missing: 'other-backend',
      });
      sessions.close();
    });

    it('a session used again within REORDER_MS keeps its place (one reorder per interval)', () => {
      const { sessions, evicted, found } = reuseThenFill(REORDER_MS - 1);
      expect('session' in found && found.session.lastUsed).toBe(performance.now());
      expect(evicted).toEqual(['1:capacity']);
      sessions.close();
    });
  });

  it('busy sessions count: when every held session is busy, no new one and no reopening', () => {
    const { sessions, evicted } = store(2);
    const [one, two, three] = [make(1), make(2), make(3)];
    add(sessions, one);
    add(sessions, two);
    one.requestIds.add(7); // a long tool call on the least recently used session
    add(sessions, three);
    expect(evicted).toEqual(['2:capacity']);
    three.requestIds.add(1);
    expect(sessions.reserve()).toBe(false);
    expect(sessions.get(two.token, WORLD)).toEqual({ full: true });
    expect(sessions.size).toBe(2);
    // DELETE of a session not held needs no place.
    expect('session' in sessions.get(two.token, WORLD, false)).toBe(true);
    // A reservation counts until it is released.
    three.requestIds.clear();
    expect(sessions.reserve()).toBe(true);
    expect(sessions.reserve()).toBe(false);
    sessions.release();
    expect(sessions.reserve()).toBe(true);
    sessions.close();
  });

  it('a deleted session is refused, held or not; a session past its lifetime is refused', () => {
    const { sessions, evicted, revocations } = store(10, 60_000, 3_600_000);
    const [one, old] = [make(1), make(2, Date.now() - 3_600_000)];
    add(sessions, one);
    sessions.delete(one);
    expect(revocations.has(one.id)).toBe(true);
    expect(sessions.get(one.token, WORLD)).toEqual({ missing: 'revoked' });
    expect(sessions.get(old.token, WORLD)).toEqual({ missing: 'expired' });
    // Held in memory when its lifetime ends: dropped on its next use.
    const aging = make(3, Date.now() - 3_600_000 + 50);
    add(sessions, aging);
    expect('session' in sessions.get(aging.token, WORLD)).toBe(true);
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        expect(sessions.get(aging.token, WORLD)).toEqual({ missing: 'expired' });
        expect(reasons(evicted)).toEqual(['deleted', 'expired']);
        sessions.close();
        resolve();
      }, 80),
    );
  });

  it('a revocation learnt from a peer ends the held session', () => {
    const { sessions, evicted, revocations } = store(10);
    const one = make(1);
    add(sessions, one);
    one.requestIds.add(1);
    revocations.merge([[one.id, Math.floor(one.issuedAt / 1000)]], 0);
    expect(evicted).toEqual(['1:revoked']);
    expect(sessions.get(one.token, WORLD)).toEqual({ missing: 'revoked' });
    sessions.close();
  });
});

import { describe, expect, it, vi } from 'vitest';
import { OwnedSessions } from '../../../../src/proxy/mcp/session/owned-sessions.js';
import type { Session } from '../../../../src/proxy/mcp/session/session.js';
import { REORDER_MS } from '../../../../src/proxy/mcp/session/session-store.js';

describe('OwnedSessions (upstream sessions mcplane holds for 2026-07-28 clients)', () => {
  it('is one per route, backend and identity, whatever the number of clients', () => {
    const owned = new OwnedSessions({ maxSessions: 10, idleMs: 60_000 });
    const first = owned.get('r', 'b', '');
    for (let client = 0; client < 1000; client++) expect(owned.get('r', 'b', '')).toBe(first);
    expect(owned.size).toBe(1);
    expect(owned.get('r', 'b', 'alice')).not.toBe(first);
    expect(owned.get('r2', 'b', '')).not.toBe(first);
    expect(owned.size).toBe(3);
  });

  it('holds at most maxSessions, dropping the least recently used (to within REORDER_MS)', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const dropped: Session[] = [];
      const owned = new OwnedSessions({ maxSessions: 3, idleMs: 60_000 }, (s) => dropped.push(s));
      owned.get('r', 'b', 'a');
      const b = owned.get('r', 'b', 'b');
      owned.get('r', 'b', 'c');
      owned.get('r', 'b', 'a'); // used again at once: keeps its place, still the oldest
      vi.advanceTimersByTime(REORDER_MS);
      owned.get('r', 'b', 'b'); // a second later: b moves behind c
      owned.get('r', 'b', 'd');
      expect(owned.size).toBe(3);
      expect(dropped.map((s) => s.principal)).toEqual(['a']);
      owned.get('r', 'b', 'e');
      expect(dropped.map((s) => s.principal)).toEqual(['a', 'c']);
      expect(owned.get('r', 'b', 'b')).toBe(b);
    } finally {
      vi.useRealTimers();
    }
  });

  it('drops a session unused for idleMs and starts a fresh one', () => {
    const dropped: Session[] = [];
    const owned = new OwnedSessions({ maxSessions: 3, idleMs: 0 }, (s) => dropped.push(s));
    const first = owned.get('r', 'b', '');
    first.lastUsed -= 10;
    const second = owned.get('r', 'b', '');
    expect(second).not.toBe(first);
    expect(dropped).toEqual([first]);
    owned.close();
    expect(owned.size).toBe(0);
  });
});

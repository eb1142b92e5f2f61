/**
 * The sealed payload: compact enough that the largest backend the schemas allow (128 targets) gives
 * an id under 4 KiB, exact round trips of every field, targets that do not fit (or have no compact
 * form) left to this process's memory, and the earlier JSON format still opening.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { capabilityFlags } from '../../../../src/proxy/mcp/rewrite/merge.js';
import { MAX_CLIENT_INFO_CHARS } from '../../../../src/proxy/mcp/session/client-params.js';
import { KeyRing } from '../../../../src/proxy/mcp/session/key-ring.js';
import { Session, type TargetSession } from '../../../../src/proxy/mcp/session/session.js';
import { backendOf, targetOf } from '../../../support/mcp-harness.js';

const ring = KeyRing.fromSpec(`k1:${'11'.repeat(32)}`);
const names = Array.from({ length: 128 }, (_, i) => `mcp-server-${String(i).padStart(3, '0')}-http`);

function state(name: string, extra: Partial<TargetSession> = {}): TargetSession {
  return {
    name,
    sessionId: randomUUID(),
    endpoint: { address: '127.0.0.1', port: 3001 },
    protocolVersion: '2025-06-18',
    flags: 'tpTP',
    ...extra,
  };
}

const roundTrip = (backend: ReturnType<typeof backendOf>, targets: TargetSession[], params = {}) => {
  const session = Session.create(ring, backend, '2025-06-18', params, targets);
  const opened = Session.open(ring, session.token, backend) as Session;
  return { session, opened };
};

describe('sealed session ids', () => {
  it('128 targets (UUID upstream sessions, Service-address endpoints) seal into an id under 4 KiB', () => {
    const backend = backendOf(names.map((name) => targetOf(name, 3001)));
    const { session, opened } = roundTrip(
      backend,
      names.map((name) => state(name)),
    );
    expect(session.token.length).toBeLessThan(4096);
    expect(session.sealedTargets).toBe(128);
    expect([...opened.targets.values()]).toEqual([...session.targets.values()]);
  });

  it('128 targets pinned to pod endpoints: as many as fit are sealed, the rest stay in memory', () => {
    const backend = backendOf(
      names.map((name, i) =>
        targetOf(name, 3001, {
          host: `${name}.default.svc.cluster.local`,
          endpoints: [{ address: `10.1.${i >> 8}.${i & 255}`, port: 8080 }],
        }),
      ),
    );
    const targets = names.map((name, i) =>
      state(name, { endpoint: { address: `10.1.${i >> 8}.${i & 255}`, port: 8080 } }),
    );
    const { session, opened } = roundTrip(backend, targets);
    expect(session.token.length).toBeLessThanOrEqual(4000);
    // The session in memory has all of them; the token the first ones that fit.
    expect(session.targets.size).toBe(128);
    expect(session.sealedTargets).toBeGreaterThan(100);
    expect(session.sealedTargets).toBeLessThan(128);
    expect(opened.targets.size).toBe(session.sealedTargets);
    for (const [name, sealed] of opened.targets) expect(sealed).toEqual(session.targets.get(name));
  });

  it('every field round-trips: IPv6 and host endpoints, text and absent session ids, versions, flags', () => {
    const all = capabilityFlags({
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      logging: {},
      completions: {},
      tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
    });
    expect(all).toBe('tprsTPRlckjxq');
    const targets = [
      state('v6', { endpoint: { address: 'fd00::7', port: 80 } }),
      state('v6-long', { endpoint: { address: '2001:db8:0:1:2:3:4:5', port: 81 } }),
      state('v6-odd', { endpoint: { address: 'FD00:0::7', port: 82 } }),
      state('v4-odd', { endpoint: { address: '010.0.0.1', port: 83 } }),
      state('host', { endpoint: { address: 'mcp.example.com', port: 443 }, sessionId: 'sess_ABC.1' }),
      state('none', { sessionId: undefined, flags: '' }),
      state('upper-uuid', { sessionId: randomUUID().toUpperCase(), flags: all }),
      state('new-version', { protocolVersion: '2026-07-28', flags: all }),
      state('old-version', { protocolVersion: '2024-11-05', flags: 't' }),
    ];
    const backend = backendOf(targets.map((t) => targetOf(t.name, 1)));
    const { session, opened } = roundTrip(backend, targets);
    expect(session.sealedTargets).toBe(targets.length);
    for (const target of targets) expect(opened.targets.get(target.name)).toEqual(target);
  });

  it('targets without a compact form stay in memory: long session ids, unknown flags; removed targets are skipped', () => {
    const targets = [
      state('long', { sessionId: 'x'.repeat(257) }),
      state('odd-flags', { flags: 'tZ' }),
      state('kept'),
    ];
    const backend = backendOf(targets.map((t) => targetOf(t.name, 1)));
    const { session, opened } = roundTrip(backend, targets);
    expect(session.sealedTargets).toBe(1);
    expect([...opened.targets.keys()]).toEqual(['kept']);
    // The backend lost a target since: the token still opens, without it.
    const smaller = backendOf([targetOf('long', 1), targetOf('odd-flags', 1)]);
    expect((Session.open(ring, session.token, smaller) as Session).targets.size).toBe(0);
  });

  it('a session keeps and seals only a bounded part of huge initialize params', () => {
    const huge = 'x'.repeat(2_000_000);
    const params = {
      protocolVersion: '2025-06-18',
      capabilities: {
        roots: { listChanged: true },
        elicitation: { form: {}, url: {} },
        sampling: { tools: {}, blob: huge },
        experimental: { blob: { data: huge } },
      },
      clientInfo: { name: `n${huge}`, version: `v${huge}`, title: huge },
      padding: huge,
    };
    const backend = backendOf([targetOf('a', 1)]);
    const { session, opened } = roundTrip(backend, [state('a')], params);
    expect(session.token.length).toBeLessThan(1000);
    expect(session.clientParams).toEqual({
      protocolVersion: '2025-06-18',
      capabilities: {
        roots: { listChanged: true },
        sampling: { tools: {} },
        elicitation: { form: {}, url: {} },
      },
      clientInfo: { name: `n${'x'.repeat(MAX_CLIENT_INFO_CHARS - 1)}`, version: `v${'x'.repeat(99)}` },
    });
    expect(opened.clientParams).toEqual(session.clientParams);
    // Small capabilities are kept as sent.
    const small = { tasks: { requests: { sampling: { createMessage: {} } } }, experimental: { x: { y: 1 } } };
    expect(
      roundTrip(backend, [state('a')], { capabilities: small }).opened.clientParams.capabilities,
    ).toEqual(small);
  });

  it('ids of the earlier JSON format still open (a rolling upgrade keeps its sessions)', () => {
    const issuedAt = Date.now() - 1000;
    const legacy = ring.seal(
      JSON.stringify({
        b: backendOf([]).id,
        t: issuedAt,
        v: '2025-06-18',
        c: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'old', version: '1' } },
        g: [{ n: 'a', s: 'up-1', e: '10.0.0.1:8080', v: '2025-06-18', f: 'tp' }],
      }),
    );
    const backend = backendOf([targetOf('a', 1)]);
    const opened = Session.open(ring, legacy, backend) as Session;
    expect(opened.issuedAt).toBe(issuedAt);
    expect(opened.targets.get('a')).toEqual({
      name: 'a',
      sessionId: 'up-1',
      endpoint: { address: '10.0.0.1', port: 8080 },
      protocolVersion: '2025-06-18',
      flags: 'tp',
    });
    expect(opened.clientParams.clientInfo).toEqual({ name: 'old', version: '1' });
    expect(Session.open(ring, legacy, backendOf([], { name: 'other' }))).toBe('other-backend');
  });

  it('bytes per target, as measured (for the README)', () => {
    const backend = backendOf(names.map((name) => targetOf(name, 3001)));
    const sizes = [1, 2, 64].map(
      (n) =>
        Session.create(
          ring,
          backend,
          '2025-06-18',
          { capabilities: {}, clientInfo: { name: 'client', version: '1.0.0' } },
          names.slice(0, n).map((name) => state(name)),
        ).token.length,
    );
    const perTarget = (sizes[2]! - sizes[1]!) / 62;
    // 4-byte name hash, 1 byte of bits, 16-byte UUID: 21 bytes, 28 base64url characters.
    expect(perTarget).toBeGreaterThan(27);
    expect(perTarget).toBeLessThan(29);
  });
});

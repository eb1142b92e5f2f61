import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { hostProblem, isLoopbackAddress, originPolicy, originProblem } from '../../src/proxy/rebinding.js';

describe('loopback by address, not by spelling', () => {
  it('knows loopback addresses in every spelling', () => {
    const loopback = [
      '127.0.0.1',
      '127.0.0.2',
      '127.255.255.254',
      'localhost',
      'LOCALHOST',
      '::1',
      '0:0:0:0:0:0:0:1',
      '0000:0000:0000:0000:0000:0000:0000:0001',
      '[::1]',
      '::1%lo',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::FFFF:7F00:0001',
      '0:0:0:0:0:ffff:127.1.2.3',
      '[::ffff:127.0.0.1]',
    ];
    for (const address of loopback) expect(isLoopbackAddress(address), address).toBe(true);
  });

  it('knows what is not loopback, however it looks', () => {
    const other = [
      '0.0.0.0',
      '::',
      '10.0.0.5',
      '128.0.0.1',
      '::2',
      '::ffff:10.0.0.1',
      '::ffff:8000:1',
      '::127.0.0.1', // IPv4-compatible, not mapped: not a loopback address
      '1::1',
      '127.example.com',
      '127.0.0.1.nip.io',
      'localhost.evil.example',
      '127.1', // not an address literal Node binds as 127.0.0.1
      '',
    ];
    for (const address of other) expect(isLoopbackAddress(address), address).toBe(false);
  });
});

describe('Host on loopback listeners', () => {
  it('lets loopback names through, with or without a port', () => {
    for (const host of [
      'localhost:8080',
      'localhost',
      '127.0.0.1:8080',
      '[::1]:8080',
      '[::ffff:127.0.0.1]:80',
    ])
      expect(hostProblem(host), host).toBeUndefined();
  });

  it('refuses a rebound name and a missing Host, saying which', () => {
    expect(hostProblem('evil.example:8080')).toBe('Host "evil.example:8080" is not a loopback name');
    expect(hostProblem('127.0.0.1.evil.example')).toMatch(/not a loopback name/);
    expect(hostProblem(null)).toMatch(/not a loopback name/);
  });
});

describe('Origin on every listener', () => {
  const none = originPolicy([]);

  it('lets requests without an Origin and loopback origins through', () => {
    for (const origin of [
      null,
      'http://localhost:6274',
      'https://localhost',
      'http://127.0.0.1:8080',
      'http://127.3.4.5',
      'http://[::1]:3000',
    ])
      expect(originProblem(origin, none), String(origin)).toBeUndefined();
  });

  it('refuses other, opaque and malformed origins, saying how to allow them', () => {
    const foreign = originProblem('https://attacker.example', none);
    expect(foreign).toContain('Origin "https://attacker.example" is not allowed');
    expect(foreign).toContain('--allowed-origins=https://attacker.example');
    expect(originProblem('null', none)).toContain('--allowed-origins=null');
    for (const origin of [
      'http://localhost:6274/path', // an origin never has a path
      'ftp://localhost',
      'http://127.0.0.1.evil.example',
      'http://localhost.evil.example',
      'not an origin',
      '',
    ])
      expect(originProblem(origin, none), origin).toBeDefined();
    expect(originProblem('<script>', none)).toContain('is not a valid origin');
  });

  it('allows exactly the listed origins, null only when listed, and anything with *', () => {
    const listed = originPolicy(['https://app.example.com', 'null']);
    expect(originProblem('https://app.example.com', listed)).toBeUndefined();
    expect(originProblem('null', listed)).toBeUndefined();
    expect(originProblem('https://app.example.com:8443', listed)).toBeDefined();
    expect(originProblem('http://app.example.com', listed)).toBeDefined();
    const any = originPolicy(['*']);
    expect(originProblem('https://anything.example', any)).toBeUndefined();
    expect(originProblem('null', any)).toBeUndefined();
  });

  it('takes --allowed-origins as a checked list of origins', () => {
    expect(loadConfig([], {}).allowedOrigins).toEqual([]);
    expect(
      loadConfig(['--allowed-origins', 'https://app.example.com, http://10.0.0.1:8080,null'], {})
        .allowedOrigins,
    ).toEqual(['https://app.example.com', 'http://10.0.0.1:8080', 'null']);
    expect(loadConfig([], { MCPLANE_ALLOWED_ORIGINS: '*' }).allowedOrigins).toEqual(['*']);
    for (const bad of [
      'https://app.example.com/',
      'app.example.com',
      'https://APP.example.com',
      'https://a.example:443',
    ])
      expect(() => loadConfig(['--allowed-origins', bad], {}), bad).toThrow(
        /--allowed-origins: .*not an origin/,
      );
  });
});

import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, rebindingProblem } from '../../src/proxy/rebinding.js';

describe('DNS-rebinding protection on loopback listeners', () => {
  it('knows which bind addresses are loopback', () => {
    expect(['127.0.0.1', '127.0.0.2', '::1', 'localhost'].map(isLoopbackAddress)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['0.0.0.0', '::', '10.0.0.5'].map(isLoopbackAddress)).toEqual([false, false, false]);
  });

  it('lets local clients through: loopback Host, and a loopback Origin or none', () => {
    expect(rebindingProblem('localhost:8080', null)).toBeUndefined();
    expect(rebindingProblem('127.0.0.1:8080', 'http://localhost:6274')).toBeUndefined();
    expect(rebindingProblem('[::1]:8080', 'https://[::1]')).toBeUndefined();
  });

  it('refuses a rebound name, a foreign Origin and an opaque Origin, saying which', () => {
    expect(rebindingProblem('evil.example:8080', null)).toBe(
      'Host "evil.example:8080" is not a loopback name',
    );
    expect(rebindingProblem('localhost:8080', 'http://evil.example')).toBe(
      'Origin "http://evil.example" is not a loopback origin',
    );
    expect(rebindingProblem('localhost:8080', 'null')).toMatch(/not a loopback origin/);
    expect(rebindingProblem(null, null)).toMatch(/not a loopback name/);
  });
});

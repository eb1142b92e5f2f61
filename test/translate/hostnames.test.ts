import { describe, expect, it } from 'vitest';
import { hostCovers, intersectHostnames } from '../../src/control/translate/hostnames.js';

describe('hostCovers', () => {
  it('lets a wildcard cover any depth below its suffix but not the suffix itself', () => {
    expect(hostCovers('*.example.com', 'a.example.com')).toBe(true);
    expect(hostCovers('*.example.com', 'a.b.example.com')).toBe(true);
    expect(hostCovers('*.example.com', '*.a.example.com')).toBe(true);
    expect(hostCovers('*.example.com', 'example.com')).toBe(false);
    expect(hostCovers('*.example.com', 'badexample.com')).toBe(false);
    expect(hostCovers('a.example.com', '*.example.com')).toBe(false);
  });
});

describe('intersectHostnames', () => {
  it('is * when neither side names a host', () => {
    expect(intersectHostnames(undefined, undefined)).toEqual(['*']);
    expect(intersectHostnames(undefined, [])).toEqual(['*']);
  });

  it('takes the listener hostname when the route has none, and the route hostnames when the listener has none', () => {
    expect(intersectHostnames('mcp.example.com', undefined)).toEqual(['mcp.example.com']);
    expect(intersectHostnames(undefined, ['a.example.com', 'A.example.com'])).toEqual(['a.example.com']);
  });

  it('keeps the more specific side in both directions', () => {
    expect(intersectHostnames('*.example.com', ['a.example.com', '*.com', 'other.org'])).toEqual([
      'a.example.com',
      '*.example.com',
    ]);
    expect(intersectHostnames('a.example.com', ['*.example.com'])).toEqual(['a.example.com']);
  });

  it('is empty when nothing intersects', () => {
    expect(intersectHostnames('mcp.example.com', ['mcp.example.org', '*.mcp.example.com'])).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { OTHER_TOOL, RELEARN_MS, ToolLabels } from '../../src/shared/tool-labels.js';

describe('ToolLabels', () => {
  it('labels only names a target listed, as <target>_<tool>', () => {
    const labels = new ToolLabels();
    labels.learn('b', 'alpha', ['echo', 'add']);
    expect(labels.label('b', 'alpha', 'echo')).toBe('alpha_echo');
    expect(labels.label('b', 'alpha', 'nope')).toBe(OTHER_TOOL);
    expect(labels.label('b', 'beta', 'echo')).toBe(OTHER_TOOL);
    expect(labels.label('other-backend', 'alpha', 'echo')).toBe(OTHER_TOOL);
  });

  it('keeps at most maxPerBackend names per backend; the rest are other', () => {
    const labels = new ToolLabels();
    labels.maxPerBackend = 100;
    labels.learn(
      'b',
      'alpha',
      Array.from({ length: 5_000 }, (_, i) => `t${i}`),
    );
    labels.learn('b', 'beta', ['late']);
    const named = Array.from({ length: 5_000 }, (_, i) => labels.label('b', 'alpha', `t${i}`));
    expect(new Set(named.filter((l) => l !== OTHER_TOOL)).size).toBe(100);
    expect(labels.label('b', 'beta', 'late')).toBe(OTHER_TOOL);
    // Another backend has its own cap.
    labels.learn('c', 'alpha', ['t4999']);
    expect(labels.label('c', 'alpha', 't4999')).toBe('alpha_t4999');
  });

  it('refuses names that would make labels longer than 128 characters', () => {
    const labels = new ToolLabels();
    labels.learn('b', 'alpha', ['x'.repeat(200)]);
    expect(labels.label('b', 'alpha', 'x'.repeat(200))).toBe(OTHER_TOOL);
  });

  it('forgets backends and targets that left the table, freeing their places', () => {
    const labels = new ToolLabels();
    labels.maxPerBackend = 2;
    labels.learn('b', 'alpha', ['one', 'two']);
    labels.learn('gone', 'alpha', ['one']);
    labels.retain(new Map([['b', ['beta']]]));
    expect(labels.label('b', 'alpha', 'one')).toBe(OTHER_TOOL);
    expect(labels.label('gone', 'alpha', 'one')).toBe(OTHER_TOOL);
    labels.learn('b', 'beta', ['three']);
    expect(labels.label('b', 'beta', 'three')).toBe('beta_three');
  });

  it('asks for a read of a target at most once per period, and never once the backend is full', () => {
    const labels = new ToolLabels();
    labels.maxPerBackend = 1;
    expect(labels.due('b', 'alpha', 0)).toBe(true);
    expect(labels.due('b', 'alpha', 1)).toBe(false);
    expect(labels.due('b', 'alpha', RELEARN_MS + 1)).toBe(true);
    labels.learn('b', 'alpha', ['echo']);
    expect(labels.due('b', 'beta', 0)).toBe(false);
  });
});

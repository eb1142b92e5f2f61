import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withFlagTable } from '../scripts/readme-flags.js';
import { FLAGS } from '../src/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every flag exactly as src/config.ts defines it (run `npm run gen` to refresh)', () => {
    expect(readme).toBe(withFlagTable(readme));
    for (const name of Object.keys(FLAGS)) expect(readme).toContain(`--${name}`);
  });

  it('gives the two commands a new user runs, and CI runs the same test command', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
    expect(readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')).toMatch(/^npm test$/m);
  });
});

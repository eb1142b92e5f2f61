/** translate() stays pure: its folder imports only src/shared, zod types and itself (no I/O, no proxy). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../src/control/translate/', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('translate boundary', () => {
  it('imports nothing but relative modules inside src/shared or the translate folder, and zod', () => {
    const offenders: string[] = [];
    for (const file of files(ROOT)) {
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)) {
        const allowed =
          spec === 'zod' ||
          (spec!.startsWith('.') && !spec!.includes('/proxy/') && !spec!.includes('/sources/'));
        if (!allowed) offenders.push(`${file.slice(ROOT.length)}: ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('uses no clock or randomness', () => {
    const hits = files(ROOT).filter((f) =>
      /Date\.now|new Date|Math\.random|process\./.test(readFileSync(f, 'utf8')),
    );
    expect(hits).toEqual([]);
  });
});

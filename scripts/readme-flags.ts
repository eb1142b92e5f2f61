/**
 * The README's flag table is generated from src/config.ts, so the two cannot drift:
 * `tsx scripts/readme-flags.ts` rewrites it; test/readme.test.ts fails when it is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { envName, FLAGS } from '../src/config.js';

export function flagTable(): string {
  const rows = Object.entries(FLAGS).map(
    ([name, [, fallback, help]]) =>
      `| \`--${name}\` / \`${envName(name)}\` | ${fallback === undefined ? '' : `\`${fallback}\``} | ${help.replaceAll('|', '\\|')} |`,
  );
  return ['| flag / environment | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

export function withFlagTable(readme: string): string {
  return readme.replace(
    /<!-- flags:start -->[\s\S]*<!-- flags:end -->/,
    `<!-- flags:start -->\n${flagTable()}\n<!-- flags:end -->`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = new URL('../README.md', import.meta.url);
  writeFileSync(path, withFlagTable(readFileSync(path, 'utf8')));
}

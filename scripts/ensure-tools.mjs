// Installs tools/ (the MCP Inspector v2 and the conformance suite, with the Node 22 they need) from
// its lock file when it is missing or stale. `npm test` runs this first, so a fresh clone just works.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const lock = new URL('../tools/package-lock.json', import.meta.url);
const installed = new URL('../tools/node_modules/.package-lock.json', import.meta.url);
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.log('installing test tools (tools/package-lock.json)…');
  execFileSync(
    'npm',
    ['ci', '--no-audit', '--no-fund', '--prefix', new URL('../tools', import.meta.url).pathname],
    {
      stdio: 'inherit',
    },
  );
}

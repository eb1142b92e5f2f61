// The npm registry this project builds from serves only the Linux x64/arm64 (glibc) builds of
// packages that ship one optional package per platform (Biome, Rollup). npm 11 then writes a lock
// without the other platforms' entries and `npm ci` refuses it ("Missing: … from lock file").
// This script adds those entries, marked optional with their os/cpu/libc, so `npm ci` accepts the
// lock and skips them on every platform they are not for. Run it after changing dependencies:
//   node scripts/lock-platforms.mjs [package-lock.json]
import { readFileSync, writeFileSync } from 'node:fs';

const path = process.argv[2] ?? new URL('../package-lock.json', import.meta.url).pathname;
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;

const OS = [
  'android',
  'darwin',
  'freebsd',
  'linux',
  'openbsd',
  'openharmony',
  'win32',
  'sunos',
  'aix',
  'netbsd',
];
const CPU = {
  arm64: 'arm64',
  x64: 'x64',
  ia32: 'ia32',
  'arm-eabi': 'arm',
  gnueabihf: 'arm',
  musleabihf: 'arm',
  arm: 'arm',
  loong64: 'loong64',
  ppc64: 'ppc64',
  riscv64: 'riscv64',
  s390x: 's390x',
};

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpuKey = Object.keys(CPU).find((k) => name.includes(`-${k}`));
  if (!os || !cpuKey) return undefined;
  const entry = { os: [os], cpu: [CPU[cpuKey]] };
  if (name.includes('musl')) entry.libc = ['musl'];
  else if (os === 'linux') entry.libc = ['glibc'];
  return entry;
}

let added = 0;
for (const [where, pkg] of Object.entries(packages)) {
  for (const [dep, range] of Object.entries(pkg.optionalDependencies ?? {})) {
    const base = where === '' ? '' : `${where}/`;
    const candidates = [`${base}node_modules/${dep}`, `node_modules/${dep}`];
    if (candidates.some((c) => packages[c])) continue;
    const platform = platformOf(dep);
    if (!platform) continue; // not a per-platform build: leave it to npm
    packages[`node_modules/${dep}`] = { version: range.replace(/^[\^~=]/, ''), optional: true, ...platform };
    added += 1;
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
lock.packages = sorted;
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`${path}: added ${added} per-platform optional entries`);

/**
 * Where a process spent its CPU: self time per function (and per file) from a V8 .cpuprofile, as
 * written by `npm run bench -- --profile`.
 *   npx tsx bench/profile-summary.ts bench/results/CPU.<…>.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  const at = url.indexOf('node_modules/');
  if (at >= 0) return url.slice(at + 'node_modules/'.length);
  const src = url.lastIndexOf('/bench-dist/');
  if (src >= 0) return `src/${url.slice(src + '/bench-dist/'.length)}`;
  return url.replace(/^file:\/\//, '') || '(native)';
}

export function summarize(profile: Profile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    // Idle time is the process waiting for work: leave it out so the shares add up to the busy time.
    if (byId.get(id)?.callFrame.functionName === '(idle)') return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const file = shortUrl(frame.url);
    const fn = `${frame.functionName || '(anonymous)'}  ${file}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const table = (title: string, map: Map<string, number>) =>
    [
      `${title} (self time, share of ${(total / 1e6).toFixed(2)} s busy)`,
      ...[...map.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, us]) => `${((us / total) * 100).toFixed(1).padStart(5)} %  ${name}`),
    ].join('\n');
  return `${table('By function', byFunction)}\n\n${table('By file', byFile)}`;
}

const [file, top] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
process.stdout.write(`${summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(top ?? 25))}\n`);

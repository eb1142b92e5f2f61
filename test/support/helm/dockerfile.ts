/** A small Dockerfile parser: stages, instructions (continuations joined, comments dropped), ARG defaults. */
export interface Instruction {
  readonly cmd: string;
  readonly args: string;
}

export interface Stage {
  readonly name: string | undefined;
  readonly from: string;
  readonly instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const lines = text.split('\n');
  const joined: string[] = [];
  let current = '';
  for (const raw of lines) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // comments inside a continued RUN
    if (line.endsWith('\\')) current += `${line.slice(0, -1).trim()} `;
    else {
      joined.push(current + line);
      current = '';
    }
  }
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of joined) {
    const match = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!match) throw new Error(`cannot parse Dockerfile line: ${line}`);
    const cmd = match[1]!.toUpperCase();
    const rest = match[2]!.trim();
    if (cmd === 'ARG' && stages.length === 0) {
      const [name, value = ''] = rest.split('=');
      args.set(name!, value);
    } else if (cmd === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`cannot parse FROM ${rest}`);
      const image = from[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args.get(a ?? b) ?? '');
      stages.push({ name: from[2], from: image, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${cmd} before FROM`);
      stage.instructions.push({ cmd, args: rest });
    }
  }
  return stages;
}

/**
 * The repository stands on its own: every markdown link is relative and lands on a file or folder in
 * it, no markdown page makes a link out of a bare URL, and neither the docs nor any code comment cite
 * notes that lived outside the repository (the design notes beside it, their research notes, or the
 * design page under its old, folder-less name). docs/ holds what those notes said.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  codeComments,
  filesUnder,
  isSkipped,
  markdownLinks,
  markdownProse,
  REPO_ROOT,
  withoutCode,
} from './support/repo-text.js';

const STRAY_MENTIONS: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  { what: 'a path to the notes beside the repository', pattern: /\.\.\/shared\b/ },
  { what: 'a research note outside the repository', pattern: /\breference\/[\w.-]+\.md\b/ },
  { what: 'the design page without its folder', pattern: /(?<!docs\/)\bdesign\.md\b/ },
];

const COMMENTED_DIRS = ['src', 'test', 'bench', 'examples', 'scripts', '.ci'];

function strayMentions(text: string): string[] {
  return STRAY_MENTIONS.filter((rule) => rule.pattern.test(text)).map((rule) => rule.what);
}

/** The line of a comment where `what` is mentioned, for the failure message. */
function lineMentioning(comment: string, what: string): string {
  const rule = STRAY_MENTIONS.find((r) => r.what === what)!;
  return (comment.split('\n').find((line) => rule.pattern.test(line)) ?? comment).trim();
}

/** Why a link in `file` does not land inside the repository, or undefined when it does. */
function linkProblem(file: string, target: string): string | undefined {
  if (/^[a-z][a-z\d+.-]*:/i.test(target) || target.startsWith('//')) return 'leaves the repository';
  if (target.startsWith('/')) return 'is absolute; links are relative';
  const path = decodeURIComponent(target.replace(/[?#].*$/, ''));
  if (path === '') return undefined; // an anchor in the same page
  const rel = relative(REPO_ROOT, join(REPO_ROOT, dirname(file), path));
  if (rel.startsWith('..') || isAbsolute(rel)) return 'resolves outside the repository';
  if (isSkipped(rel)) return 'points where a clone has nothing';
  if (!existsSync(join(REPO_ROOT, rel))) return 'points at nothing';
  return undefined;
}

function markdownProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  for (const { line, target } of markdownLinks(text)) {
    const problem = linkProblem(file, target);
    if (problem) problems.push(`${file}:${line}: link ${target} ${problem}`);
  }
  withoutCode(text)
    .split('\n')
    .forEach((line, index) => {
      if (/\bhttps?:\/\//.test(markdownProse(line))) {
        problems.push(`${file}:${index + 1}: a bare URL (GitHub links it): quote it as code or drop it`);
      }
    });
  // Code blocks count here: a command that reads a file outside the repository fails for readers too.
  markdownProse(text)
    .split('\n')
    .forEach((line, index) => {
      for (const what of strayMentions(line)) problems.push(`${file}:${index + 1}: mentions ${what}`);
    });
  return problems;
}

function commentProblems(file: string, comments: readonly string[]): string[] {
  return comments.flatMap((comment) =>
    strayMentions(comment).map(
      (what) => `${file}: a comment mentions ${what}: ${lineMentioning(comment, what)}`,
    ),
  );
}

describe('the rules', () => {
  it('catch links out of the repository, dead links, bare URLs and stray mentions', () => {
    const page = [
      'See [MCP](https://modelcontextprotocol.io), [old](../shared/design.md) and [gone](missing.md).',
      'Also https://example.com and reference/peers.md, design.md section 4.',
      'Fine: [design](docs/design.md), [tree](src/), `https://in.code`, docs/design.md section 4.',
      '```sh',
      'kubectl apply -f https://example.com/install.yaml   # a command, not a link',
      '```',
    ].join('\n');
    expect(markdownProblems('sample.md', page)).toEqual([
      'sample.md:1: link https://modelcontextprotocol.io leaves the repository',
      'sample.md:1: link ../shared/design.md resolves outside the repository',
      'sample.md:1: link missing.md points at nothing',
      'sample.md:2: a bare URL (GitHub links it): quote it as code or drop it',
      'sample.md:2: mentions a research note outside the repository',
      'sample.md:2: mentions the design page without its folder',
    ]);
    const source = [
      "import { x } from '../shared/table.js'; // an import path is code, not a mention",
      "const pattern = /design\\.md/; const text = 'reference/notes.md';",
      '/** As design.md section 5 says. */',
      '// see ../shared/notes',
      'const later = 1; // as design.md section 2 says',
      '// docs/design.md section 1 is fine',
    ].join('\n');
    expect(commentProblems('src/sample.ts', codeComments('src/sample.ts', source))).toEqual([
      'src/sample.ts: a comment mentions the design page without its folder: /** As design.md section 5 says. */',
      'src/sample.ts: a comment mentions a path to the notes beside the repository: // see ../shared/notes',
      'src/sample.ts: a comment mentions the design page without its folder: // as design.md section 2 says',
    ]);
  });
});

describe('the repository', () => {
  const markdown = filesUnder('.').filter((f) => f.endsWith('.md'));

  it('links only to its own files, by relative paths, and cites no notes outside it', () => {
    for (const required of [
      'README.md',
      'docs/design.md',
      'docs/architecture.md',
      'charts/mcplane/README.md',
      'bench/README.md',
    ]) {
      expect(markdown).toContain(required);
    }
    const links = markdown.flatMap((f) => markdownLinks(readFileSync(join(REPO_ROOT, f), 'utf8')));
    expect(links.length).toBeGreaterThanOrEqual(8);
    expect(markdown.flatMap((f) => markdownProblems(f, readFileSync(join(REPO_ROOT, f), 'utf8')))).toEqual(
      [],
    );
  });

  it('has no code comment citing notes outside it', () => {
    const files = COMMENTED_DIRS.flatMap((dir) => filesUnder(dir));
    const comments = files.map((f) => ({
      f,
      comments: codeComments(f, readFileSync(join(REPO_ROOT, f), 'utf8')),
    }));
    expect(files.length).toBeGreaterThan(300);
    expect(comments.filter((c) => c.comments.length > 0).length).toBeGreaterThan(250);
    expect(comments.flatMap((c) => commentProblems(c.f, c.comments))).toEqual([]);
  });
});

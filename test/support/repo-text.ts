/**
 * Reading the repository as text for tests that check its docs and comments: which files there are,
 * the links a markdown file makes, and the comments of a source file (through the TypeScript parser
 * for TS and JS, so a `//` inside a string or a regular expression is not taken for a comment).
 */
import { readdirSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import ts from 'typescript';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;

/** Never scanned (repository-relative): tool installs, build output, local scratch, benchmark results. */
const SKIPPED = new Set(['tools', 'dist', '.tmp', '.git', 'bench/results']);

/** Whether a repository-relative path lies in a place readers of the repository do not have. */
export function isSkipped(rel: string): boolean {
  const parts = rel.split('/');
  return parts.includes('node_modules') || parts.some((_, i) => SKIPPED.has(parts.slice(0, i + 1).join('/')));
}

/** Repository-relative paths of every file under `dir` (repository-relative), skipping SKIPPED. */
export function filesUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (absolute: string) => {
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      const path = join(absolute, entry.name);
      const rel = relative(REPO_ROOT, path);
      if (isSkipped(rel)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) found.push(rel);
    }
  };
  walk(join(REPO_ROOT, dir));
  return found.sort();
}

/** Fenced code blocks become blank lines (line numbers kept); inline code spans become blanks. */
export function withoutCode(markdown: string): string {
  let fenced = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line.replace(/`[^`\n]*`/g, (span) => ' '.repeat(span.length));
    })
    .join('\n');
}

export interface MarkdownLink {
  readonly line: number;
  readonly target: string;
}

/** Inline links and images, reference definitions, autolinks and HTML href/src, outside code. */
export function markdownLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  withoutCode(markdown)
    .split('\n')
    .forEach((text, index) => {
      const patterns = [
        /\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g,
        /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g,
        /<((?:https?|ftp|mailto):[^>\s]+)>/g,
        /\b(?:href|src)\s*=\s*["']([^"']+)["']/g,
      ];
      for (const pattern of patterns) {
        for (const match of text.matchAll(pattern)) links.push({ line: index + 1, target: match[1]! });
      }
    });
  return links;
}

/** The markdown text a reader sees, without link targets (those are checked as links). */
export function markdownProse(markdown: string): string {
  return markdown.replace(/\]\([^)]*\)/g, ']');
}

/** The comments of a source file, as one string per comment (YAML and shell: `#` comments). */
export function codeComments(path: string, text: string): string[] {
  switch (extname(path)) {
    case '.ts':
    case '.mts':
    case '.js':
    case '.mjs':
      return scriptComments(path, text);
    case '.go':
      return [...text.matchAll(/\/\/.*$|\/\*[\s\S]*?\*\//gm)].map((m) => m[0]);
    case '.yaml':
    case '.yml':
    case '.sh':
    case '':
      return [...text.matchAll(/(?:^|\s)(#.*)$/gm)].map((m) => m[1]!);
    default:
      return [];
  }
}

/** Every comment: the leading trivia of each token holds them all. */
function scriptComments(path: string, text: string): string[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false);
  const comments: string[] = [];
  const visit = (node: ts.Node) => {
    if (node.kind >= ts.SyntaxKind.FirstJSDocNode && node.kind <= ts.SyntaxKind.LastJSDocNode) return;
    // A token's children, if any, are its JSDoc (the end-of-file token has some): its trivia holds them.
    if (node.kind > ts.SyntaxKind.LastToken) {
      node.getChildren(file).forEach(visit);
      return;
    }
    const at = node.getFullStart();
    // Trailing: a comment after code on the previous token's line; leading: the lines before this one.
    const ranges = [
      ...(ts.getTrailingCommentRanges(text, at) ?? []),
      ...(ts.getLeadingCommentRanges(text, at) ?? []),
    ];
    for (const range of new Map(ranges.map((r) => [r.pos, r])).values()) {
      comments.push(text.slice(range.pos, range.end));
    }
  };
  visit(file);
  return comments;
}

/**
 * The `labelSelector` query parameter: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`,
 * comma-separated and ANDed. A malformed selector is a 400, as on a real server.
 */
import { ApiError } from './status.js';

export type LabelPredicate = (labels: Readonly<Record<string, string>> | undefined) => boolean;

function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  if (current.trim()) terms.push(current.trim());
  return terms;
}

function term(text: string): LabelPredicate {
  const setMatch = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text);
  if (setMatch) {
    const [, key, op, list] = setMatch as unknown as [string, string, string, string];
    const values = new Set(list.split(',').map((v) => v.trim()));
    return op === 'in'
      ? (l) => l?.[key] !== undefined && values.has(l[key])
      : (l) => l?.[key] === undefined || !values.has(l[key]);
  }
  const eq = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(text);
  if (eq) {
    const [, key, op, value] = eq as unknown as [string, string, string, string];
    return op === '!=' ? (l) => l?.[key] !== value : (l) => l?.[key] === value;
  }
  const exists = /^(!?)([\w./-]+)$/.exec(text);
  if (exists) {
    const [, not, key] = exists as unknown as [string, string, string];
    return not ? (l) => l?.[key] === undefined : (l) => l?.[key] !== undefined;
  }
  throw new ApiError(400, `unable to parse requirement: invalid label selector term "${text}"`);
}

export function parseLabelSelector(selector: string | null | undefined): LabelPredicate {
  if (!selector) return () => true;
  const predicates = splitTerms(selector).map(term);
  return (labels) => predicates.every((p) => p(labels));
}

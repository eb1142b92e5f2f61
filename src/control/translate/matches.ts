/**
 * HTTPRoute matches → IR matches: defaults filled in (no matches = PathPrefix `/`), header names
 * lower-cased, regular expressions checked so the proxy never meets one it cannot compile.
 */
import type { HTTPRoute, HTTPRouteMatch } from '../../shared/resources.js';
import type { HeaderMatch, PathMatch } from '../../shared/table.js';

export interface NormalisedMatch {
  readonly path: PathMatch;
  readonly headers: readonly HeaderMatch[];
  readonly queryParams: readonly HeaderMatch[];
  readonly method?: string;
}

type Rule = NonNullable<HTTPRoute['spec']['rules']>[number];

export function normaliseMatch(match: HTTPRouteMatch): NormalisedMatch {
  return {
    path: { type: match.path?.type ?? 'PathPrefix', value: match.path?.value ?? '/' },
    headers: (match.headers ?? []).map((h) => ({
      type: h.type ?? 'Exact',
      name: h.name.toLowerCase(),
      value: h.value,
    })),
    queryParams: (match.queryParams ?? []).map((q) => ({
      type: q.type ?? 'Exact',
      name: q.name,
      value: q.value,
    })),
    ...(match.method === undefined ? {} : { method: match.method }),
  };
}

/** A rule's matches, never empty. */
export function ruleMatches(rule: Rule): NormalisedMatch[] {
  const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
  return matches.map(normaliseMatch);
}

function regexProblem(value: string, where: string): string | undefined {
  try {
    new RegExp(value);
    return undefined;
  } catch (error) {
    return `${where}: invalid regular expression "${value}" (${(error as Error).message})`;
  }
}

/** Problems that make the whole route unacceptable (Accepted=False, UnsupportedValue). */
export function matchProblems(route: HTTPRoute): string[] {
  const problems: string[] = [];
  (route.spec.rules ?? []).forEach((rule, r) => {
    ruleMatches(rule).forEach((match, m) => {
      const at = `spec.rules[${r}].matches[${m}]`;
      const checks = [
        match.path.type === 'RegularExpression' ? regexProblem(match.path.value, `${at}.path`) : undefined,
        match.path.type !== 'RegularExpression' && !match.path.value.startsWith('/')
          ? `${at}.path: "${match.path.value}" must start with "/"`
          : undefined,
        ...match.headers.map((h, i) =>
          h.type === 'RegularExpression' ? regexProblem(h.value, `${at}.headers[${i}]`) : undefined,
        ),
        ...match.queryParams.map((q, i) =>
          q.type === 'RegularExpression' ? regexProblem(q.value, `${at}.queryParams[${i}]`) : undefined,
        ),
      ];
      for (const problem of checks) if (problem) problems.push(problem);
    });
  });
  return problems;
}

/**
 * Kubernetes label selectors (matchLabels + matchExpressions), compiled once and applied many times.
 */
import type { LabelSelector } from './resources.js';

export type LabelMatcher = (labels: Readonly<Record<string, string>> | undefined) => boolean;

export class SelectorError extends Error {
  override name = 'SelectorError';
}

const OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

/**
 * Compile a selector. An empty selector (`{}`) matches everything, as in Kubernetes.
 * Throws SelectorError with a message a person can act on for an unknown operator or a bad values list.
 */
export function compileSelector(selector: LabelSelector): LabelMatcher {
  const checks: LabelMatcher[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    checks.push((labels) => labels?.[key] === value);
  }
  for (const [i, req] of (selector.matchExpressions ?? []).entries()) {
    if (!OPERATORS.has(req.operator)) {
      throw new SelectorError(
        `matchExpressions[${i}].operator "${req.operator}" is not one of In, NotIn, Exists, DoesNotExist`,
      );
    }
    const values = req.values ?? [];
    if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) {
      throw new SelectorError(`matchExpressions[${i}] (${req.operator}) needs at least one value`);
    }
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) {
      throw new SelectorError(`matchExpressions[${i}] (${req.operator}) must not list values`);
    }
    const set = new Set(values);
    const key = req.key;
    switch (req.operator) {
      case 'In':
        checks.push((labels) => labels?.[key] !== undefined && set.has(labels[key]));
        break;
      case 'NotIn':
        checks.push((labels) => labels?.[key] === undefined || !set.has(labels[key]));
        break;
      case 'Exists':
        checks.push((labels) => labels?.[key] !== undefined);
        break;
      default:
        checks.push((labels) => labels?.[key] === undefined);
    }
  }
  return (labels) => checks.every((check) => check(labels));
}

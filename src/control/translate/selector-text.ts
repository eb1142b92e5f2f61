/** Label selectors as people write them, for status messages: `{app=x, tier In (a,b)}`. */
import type { LabelSelector } from '../../shared/resources.js';

export function formatSelector(selector: LabelSelector | undefined): string {
  if (!selector) return '{}';
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const req of selector.matchExpressions ?? []) {
    parts.push(
      req.values?.length
        ? `${req.key} ${req.operator} (${req.values.join(',')})`
        : `${req.key} ${req.operator}`,
    );
  }
  return `{${parts.join(', ')}}`;
}

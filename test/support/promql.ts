/**
 * PromQL as the chart's dashboard and alerts write it, for tests that check them against mcplane: the
 * metric names an expression reads, the names mcplane's registry exposes, and Debian's promtool.
 */
import { existsSync } from 'node:fs';
import { Registry } from 'prom-client';
import { createMetrics } from '../../src/shared/metrics.js';

/** The promtool binary; throws (never skips) with what to install when there is none. */
export function promtoolBinary(): string {
  const found = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'promtool is not installed, and the chart tests check the alerting rules with it: install it (apt-get install prometheus, as .ci/run does) and run again',
    );
  }
  return found;
}

/** PromQL functions (Prometheus 2.x and 3.x): an identifier followed by `(` must be one of these. */
const FUNCTIONS = new Set(
  [
    'abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp',
    'clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg',
    'delta deriv double_exponential_smoothing exp floor histogram_avg histogram_count histogram_fraction',
    'histogram_quantile histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase',
    'info irate label_join label_replace last_over_time ln log10 log2 mad_over_time max_over_time',
    'min_over_time minute month pi predict_linear present_over_time quantile_over_time rad rate resets',
    'round scalar sgn sin sinh sort sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time',
    'stdvar_over_time sum_over_time tan tanh time timestamp vector year start end',
  ]
    .join(' ')
    .split(' '),
);

/** Aggregation operators: called like functions, never metric names. */
const AGGREGATIONS = new Set(
  'sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio'.split(
    ' ',
  ),
);

/** Keywords that stand alone in an expression (label lists after by/on/… are removed before). */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'atan2', 'inf', 'nan']);

/**
 * The metric names an expression reads, in order of appearance (duplicates kept): identifiers before
 * `{` or `[` or used bare. Strings, label matchers, ranges, offsets and `@` modifiers, the label lists of
 * by/without/on/ignoring/group_left/group_right, Grafana `$variables`, numbers, keywords, aggregations
 * and functions are not names; an identifier called like a function that PromQL does not have throws.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
    .replace(/\b(?:group_left|group_right)\b/gi, ' ')
    .replace(/\boffset\s+-?[\w.]+/gi, ' ')
    .replace(/@\s*[\d.]+/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names: string[] = [];
  const token = /(0x[\da-f]+|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)|([a-z_:][\w:]*)(\s*\()?/gi;
  for (const [, number, ident, call] of stripped.matchAll(token)) {
    if (number !== undefined || ident === undefined) continue;
    if (call) {
      if (!FUNCTIONS.has(ident) && !AGGREGATIONS.has(ident)) {
        throw new Error(`${ident}() is not a PromQL function or aggregation, in: ${expr}`);
      }
      continue;
    }
    if (KEYWORDS.has(ident.toLowerCase()) || AGGREGATIONS.has(ident)) continue;
    names.push(ident);
  }
  return names;
}

/** A Grafana variable query: `label_values(<expr>, <label>)` reads <expr>; a bare query is PromQL. */
export function variableQueryNames(query: string): string[] {
  const labelValues = /^\s*label_values\(\s*(.*?)\s*,\s*\w+\s*\)\s*$/s.exec(query);
  if (labelValues) return metricNames(labelValues[1]!);
  if (/^\s*label_values\(\s*\w+\s*\)\s*$/.test(query)) return [];
  return metricNames(query);
}

/**
 * Every series name mcplane's registry exposes (process metrics left out): a histogram `x` exposes
 * x_bucket, x_sum and x_count; a summary x, x_sum and x_count.
 */
export async function exposedMetricNames(): Promise<Set<string>> {
  const metrics = createMetrics(new Registry(), { processMetrics: false });
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    const type = String(metric.type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(metric.name + s);
    else names.add(metric.name);
  }
  return names;
}

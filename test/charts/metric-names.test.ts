/**
 * The chart's Grafana dashboard and alerting rules query only metrics mcplane exposes: every metric
 * name in every expression (panels, variables, rules) is one that src/shared/metrics.ts registers, so
 * a renamed or misspelt metric fails here instead of drawing an empty panel or an alert that never fires.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHART_DIR, find, renderManifests } from '../support/helm/render.js';
import { exposedMetricNames, metricNames, variableQueryNames } from '../support/promql.js';

type Obj = Record<string, any>;

const dashboard = JSON.parse(readFileSync(join(CHART_DIR, 'dashboards/mcplane.json'), 'utf8')) as Obj;

/** Every PromQL expression of the dashboard: panel targets (rows included) and query variables. */
function dashboardQueries(d: Obj): { where: string; names: string[] }[] {
  const out: { where: string; names: string[] }[] = [];
  const panels = (list: Obj[] = []): void => {
    for (const panel of list) {
      for (const t of panel.targets ?? []) {
        out.push({ where: `panel "${panel.title}" ${t.refId}: ${t.expr}`, names: metricNames(t.expr) });
      }
      panels(panel.panels);
    }
  };
  panels(d.panels);
  for (const v of d.templating.list as Obj[]) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : v.query.query;
    out.push({ where: `variable $${v.name}: ${query}`, names: variableQueryNames(query) });
  }
  return out;
}

function ruleQueries(): { where: string; names: string[] }[] {
  const rule = find(
    renderManifests({ values: { prometheusRule: { enabled: true } } }),
    'PrometheusRule',
  ) as Obj;
  return (rule.spec.groups as Obj[]).flatMap((g) =>
    (g.rules as Obj[]).map((r) => ({ where: `alert ${r.alert}: ${r.expr}`, names: metricNames(r.expr) })),
  );
}

/** `where: name` for each name mcplane does not expose. */
function unknown(queries: { where: string; names: string[] }[], exposed: Set<string>): string[] {
  return queries.flatMap((q) => q.names.filter((n) => !exposed.has(n)).map((n) => `${n} (${q.where})`));
}

describe('metric names in PromQL expressions', () => {
  it.each([
    ['mcplane_sessions_active', ['mcplane_sessions_active']],
    [
      'sum by (backend, le) (rate(x_bucket{backend=~"$backend", error_type!="", a="}"}[$__rate_interval]))',
      ['x_bucket'],
    ],
    ['histogram_quantile(0.99, sum(rate(x_bucket[5m])) by (le)) > 1e+06', ['x_bucket']],
    [`count(min by (b, t) (up_a{b=~"\${b}"}) == 0) or vector(0)`, ['up_a']],
    ['time() - built_seconds offset 5m', ['built_seconds']],
    ['a_total / on (x) group_left (y, z) b_info unless c', ['a_total', 'b_info', 'c']],
    ['sum without (le) (rate(x[1h:5m])) > bool 0.05 and absent(y) @ 1700000000', ['x', 'y']],
    ['topk(5, count_values("v", label_replace(m, "dst", "new", "src", "(.*)")))', ['m']],
  ])('%s reads %j', (expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });

  it('variable queries: label_values(<expr>, <label>) reads the expression', () => {
    expect(variableQueryNames('label_values(mcplane_upstream_up{backend!=""}, backend)')).toEqual([
      'mcplane_upstream_up',
    ]);
    expect(variableQueryNames('label_values(backend)')).toEqual([]);
  });

  it('an identifier called like a function PromQL does not have is an error, not a metric', () => {
    expect(() => metricNames('sum(rates(x[5m]))')).toThrow('rates() is not a PromQL function');
  });

  it('mcplane exposes histograms as _bucket, _sum, _count and counters under their own name', async () => {
    const exposed = await exposedMetricNames();
    for (const name of [
      'mcp_server_operation_duration_seconds_bucket',
      'mcp_server_operation_duration_seconds_count',
      'mcp_client_operation_duration_seconds_sum',
      'mcplane_requests_total',
      'mcplane_upstream_up',
    ]) {
      expect(exposed, name).toContain(name);
    }
    expect(exposed).not.toContain('mcp_server_operation_duration_seconds'); // no such series
    expect(exposed).not.toContain('mcplane_process_cpu_seconds_total'); // process metrics left out
  });

  it('a query of a metric mcplane does not expose is reported', async () => {
    const exposed = await exposedMetricNames();
    const bad = structuredClone(dashboard);
    bad.panels.find((p: Obj) => p.targets).targets[0].expr =
      'sum(rate(mcplane_request_duration_seconds_count[5m]))';
    expect(unknown(dashboardQueries(bad), exposed)).toEqual([
      expect.stringMatching(/^mcplane_request_duration_seconds_count \(panel "/),
    ]);
  });
});

describe('the chart queries only metrics mcplane exposes', () => {
  it('every dashboard panel and variable', async () => {
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThanOrEqual(25);
    for (const q of queries) expect(q.names, q.where).not.toEqual([]);
    expect(unknown(queries, await exposedMetricNames())).toEqual([]);
  });

  it('every alerting rule', async () => {
    const queries = ruleQueries();
    expect(queries).toHaveLength(5);
    expect(unknown(queries, await exposedMetricNames())).toEqual([]);
  });
});

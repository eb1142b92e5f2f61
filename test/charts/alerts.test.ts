/**
 * The chart's PrometheusRule: off by default; on, mcplane's five alerts with thresholds, `for` and
 * severities from values. promtool (Debian's `prometheus` package; .ci/run installs it) checks the
 * rendered groups and runs alerts.test-rules.yaml, where each alert fires on constructed series and
 * stays silent on a healthy gateway.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { find, renderManifests } from '../support/helm/render.js';
import { promtoolBinary } from '../support/promql.js';

type Obj = Record<string, any>;

const HERE = import.meta.dirname;
const UNIT_TESTS = join(HERE, 'alerts.test-rules.yaml');
const ALERTS = [
  'McplaneTargetDown',
  'McplaneHighErrorRatio',
  'McplaneHighLatencyP99',
  'McplaneDiscoveryLag',
  'McplaneNoRoutingTable',
];

function rule(values: Obj = {}): Obj {
  const prometheusRule = { enabled: true, ...values };
  return find(renderManifests({ values: { prometheusRule } }), 'PrometheusRule') as Obj;
}

const rules = (r: Obj): Obj[] => r.spec.groups.flatMap((g: Obj) => g.rules);
const byAlert = (r: Obj): Record<string, Obj> => Object.fromEntries(rules(r).map((x) => [x.alert, x]));

/** Writes the rule's spec.groups as a Prometheus rules file in a fresh directory; returns the directory. */
function rulesFile(r: Obj): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcplane-rules-'));
  writeFileSync(join(dir, 'mcplane-rules.yaml'), stringify({ groups: r.spec.groups }));
  return dir;
}

function promtool(dir: string, ...args: string[]): { status: number; output: string } {
  const run = spawnSync(promtoolBinary(), args, { cwd: dir, encoding: 'utf8' });
  if (run.error) throw run.error;
  return { status: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
}

describe('PrometheusRule', () => {
  it('is off by default', () => {
    expect(renderManifests().map((m) => m.kind)).not.toContain('PrometheusRule');
  });

  it('on: a monitoring.coreos.com/v1 PrometheusRule with the five alerts, labelled for a ruleSelector', () => {
    const r = rule({ labels: { release: 'prometheus' } });
    expect(r.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(r.metadata).toMatchObject({
      name: 'agentgateway',
      namespace: 'mcp-system',
      labels: { 'app.kubernetes.io/instance': 'agentgateway', release: 'prometheus' },
    });
    expect(r.spec.groups.map((g: Obj) => g.name)).toEqual(['mcplane']);
    expect(rules(r).map((x) => x.alert)).toEqual(ALERTS);
    for (const x of rules(r)) {
      expect(Object.keys(x).sort(), x.alert).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
      expect(Object.keys(x.annotations).sort(), x.alert).toEqual(['description', 'summary']);
    }
    const a = byAlert(r);
    expect(a.McplaneTargetDown).toMatchObject({ for: '5m', labels: { severity: 'warning' } });
    expect(a.McplaneHighErrorRatio).toMatchObject({ for: '10m', labels: { severity: 'warning' } });
    expect(a.McplaneHighLatencyP99).toMatchObject({ for: '15m', labels: { severity: 'warning' } });
    expect(a.McplaneDiscoveryLag).toMatchObject({ for: '5m', labels: { severity: 'warning' } });
    expect(a.McplaneNoRoutingTable).toMatchObject({ for: '10m', labels: { severity: 'critical' } });
    expect(a.McplaneTargetDown!.expr).toBe('min by (namespace, backend, target) (mcplane_upstream_up) == 0');
    expect(a.McplaneHighErrorRatio!.expr).toMatch(/error_type!=""/);
    expect(a.McplaneHighErrorRatio!.expr).toMatch(/\) > 0\.05$/);
    expect(a.McplaneHighLatencyP99!.expr).toMatch(/^histogram_quantile\(0\.99,/);
    expect(a.McplaneHighLatencyP99!.expr).toMatch(/by \(namespace, backend, gen_ai_tool_name, le\)/);
    expect(a.McplaneHighLatencyP99!.expr).toMatch(/\) > 5$/);
    expect(a.McplaneDiscoveryLag!.expr).toMatch(/mcplane_discovery_lag_seconds_bucket\[15m\][\s\S]*\) > 5$/);
    expect(a.McplaneNoRoutingTable!.expr).toBe('mcplane_table_version == 0 or absent(mcplane_table_version)');
    // Prometheus's templating reaches the rule unexpanded by Helm.
    expect(a.McplaneTargetDown!.annotations.summary).toBe(
      'MCP target {{ $labels.target }} of backend {{ $labels.backend }} is down',
    );
  });

  it('thresholds, `for`, severities and extra alert labels come from values; alerts can be turned off', () => {
    const a = byAlert(
      rule({
        alertLabels: { team: 'platform', severity: 'ignored' },
        alerts: {
          targetDown: { for: '1m', severity: 'page' },
          highErrorRatio: { threshold: 0.2, for: '30m' },
          highLatencyP99: { thresholdSeconds: 2.5 },
          discoveryLag: { enabled: false },
          noRoutingTable: { for: '1h' },
        },
      }),
    );
    expect(Object.keys(a)).toEqual(ALERTS.filter((x) => x !== 'McplaneDiscoveryLag'));
    expect(a.McplaneTargetDown).toMatchObject({ for: '1m', labels: { severity: 'page', team: 'platform' } });
    expect(a.McplaneHighErrorRatio!.expr).toMatch(/\) > 0\.2$/);
    expect(a.McplaneHighErrorRatio!.for).toBe('30m');
    expect(a.McplaneHighErrorRatio!.annotations.description).toContain('above 0.2 for more than 30m');
    expect(a.McplaneHighLatencyP99!.expr).toMatch(/\) > 2\.5$/);
    expect(a.McplaneHighLatencyP99!.labels).toEqual({ severity: 'warning', team: 'platform' });
    expect(a.McplaneNoRoutingTable!.for).toBe('1h');

    const none = rule({
      alerts: Object.fromEntries(
        ['targetDown', 'highErrorRatio', 'highLatencyP99', 'discoveryLag', 'noRoutingTable'].map((k) => [
          k,
          { enabled: false },
        ]),
      ),
    });
    expect(none.spec.groups).toEqual([{ name: 'mcplane', rules: [] }]);
  });
});

describe('promtool', () => {
  it('check rules passes on the rendered groups, with the defaults and with every value changed', () => {
    const defaults = promtool(rulesFile(rule()), 'check', 'rules', 'mcplane-rules.yaml');
    expect(defaults.output).toContain('SUCCESS: 5 rules found');
    expect(defaults.status, defaults.output).toBe(0);
    const custom = rule({
      alertLabels: { team: 'platform' },
      alerts: {
        targetDown: { for: '90s', severity: 'page' },
        highErrorRatio: { threshold: 0.001, for: '1h' },
        highLatencyP99: { thresholdSeconds: 1000000, for: '0' },
        discoveryLag: { thresholdSeconds: 0.25, for: '2m' },
        noRoutingTable: { for: '1d' },
      },
    });
    const changed = promtool(rulesFile(custom), 'check', 'rules', 'mcplane-rules.yaml');
    expect(changed.output).toContain('SUCCESS: 5 rules found');
    expect(changed.status, changed.output).toBe(0);
  });

  it('test rules: each alert fires on constructed series and stays silent on a healthy gateway', () => {
    const dir = rulesFile(rule());
    copyFileSync(UNIT_TESTS, join(dir, 'alerts.test-rules.yaml'));
    const run = promtool(dir, 'test', 'rules', 'alerts.test-rules.yaml');
    expect(run.output).toContain('SUCCESS');
    expect(run.status, run.output).toBe(0);
  });

  it('the unit tests cover every alert both ways, on the rules file the test writes', () => {
    const unit = parse(readFileSync(UNIT_TESTS, 'utf8')) as Obj;
    expect(unit.rule_files).toEqual(['mcplane-rules.yaml']);
    const cases: Obj[] = unit.tests.flatMap((t: Obj) =>
      t.alert_rule_test.map((c: Obj) => ({ ...c, group: t.name })),
    );
    const healthy = unit.tests.find((t: Obj) => t.name === 'a healthy gateway raises no alert');
    for (const alert of ALERTS) {
      expect(
        cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0),
        `${alert} fires somewhere`,
      ).toBe(true);
      expect(
        healthy.alert_rule_test.some((c: Obj) => c.alertname === alert && c.exp_alerts.length === 0),
        `${alert} silent on the healthy gateway`,
      ).toBe(true);
    }
    expect(new Set(cases.map((c) => c.alertname))).toEqual(new Set(ALERTS));
  });
});

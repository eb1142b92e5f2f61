/**
 * The chart's Grafana dashboard: dashboards/mcplane.json, shipped as a ConfigMap the Grafana sidecar
 * loads (off by default). The JSON is checked as Grafana reads it (variables, datasources, layout) and
 * every expression is parsed by promtool; metric-names.test.ts checks the metrics it queries. The
 * ConfigMap reads the file with `.Files.Get`, so the renderer's `.Files` is checked against Helm's here too.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkShape } from '../support/helm/k8s-shape.js';
import {
  CHART_DIR,
  ensureRenderer,
  find,
  type Manifest,
  parseManifests,
  renderManifests,
} from '../support/helm/render.js';
import { promtoolBinary } from '../support/promql.js';

type Obj = Record<string, any>;

/** The datasource variable, as Grafana writes a reference to it. */
const DATASOURCE = { type: 'prometheus', uid: `\${datasource}` };
const FILE = readFileSync(join(CHART_DIR, 'dashboards/mcplane.json'), 'utf8');
const dashboard = JSON.parse(FILE) as Obj;
const panels: Obj[] = dashboard.panels;
const graphs = panels.filter((p) => p.type !== 'row');
const exprs: string[] = graphs.flatMap((p) => p.targets.map((t: Obj) => t.expr));

function configMap(values: Obj = {}): Manifest {
  const manifests = renderManifests({ values: { grafanaDashboard: { enabled: true, ...values } } });
  return find(manifests, 'ConfigMap', 'agentgateway-dashboard');
}

describe('Grafana dashboard ConfigMap', () => {
  it('is off by default', () => {
    expect(renderManifests().map((m) => m.kind)).not.toContain('ConfigMap');
  });

  it('on: a ConfigMap labelled for the Grafana sidecar, holding dashboards/mcplane.json as is', () => {
    const cm = configMap() as Obj;
    expect(checkShape(cm as Manifest)).toEqual([]);
    expect(cm.metadata.namespace).toBe('mcp-system');
    expect(cm.metadata.labels).toMatchObject({
      grafana_dashboard: '1',
      'app.kubernetes.io/instance': 'agentgateway',
    });
    expect(cm.metadata.annotations).toBeUndefined();
    expect(Object.keys(cm.data)).toEqual(['mcplane.json']);
    expect(cm.data['mcplane.json']).toBe(FILE.trimEnd());
  });

  it('the sidecar label and value, the namespace, more labels and annotations are values', () => {
    const cm = configMap({
      label: 'grafana.example.com/dashboard',
      labelValue: 'mcp',
      namespace: 'monitoring',
      labels: { team: 'platform' },
      annotations: { grafana_folder: 'MCP' },
    }) as Obj;
    expect(cm.metadata.namespace).toBe('monitoring');
    expect(cm.metadata.labels).toMatchObject({ 'grafana.example.com/dashboard': 'mcp', team: 'platform' });
    expect(cm.metadata.labels.grafana_dashboard).toBeUndefined();
    expect(cm.metadata.annotations).toEqual({ grafana_folder: 'MCP' });
    expect(JSON.parse(cm.data['mcplane.json'])).toEqual(dashboard);
  });
});

describe('dashboards/mcplane.json', () => {
  it('is a Grafana dashboard with a Prometheus datasource variable and a backend variable', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41);
    expect(dashboard).toMatchObject({ uid: 'mcplane', title: 'mcplane', id: null });
    const vars = Object.fromEntries((dashboard.templating.list as Obj[]).map((v) => [v.name, v]));
    expect(Object.keys(vars)).toEqual(['datasource', 'backend']);
    expect(vars.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(vars.backend).toMatchObject({
      type: 'query',
      datasource: DATASOURCE,
      includeAll: true,
      multi: true,
      allValue: '.*',
    });
    expect(vars.backend.query.query).toMatch(/^label_values\(\w+, backend\)$/);
    expect(vars.backend.definition).toBe(vars.backend.query.query);
  });

  it('every panel and query uses the datasource variable; only defined or built-in variables appear', () => {
    expect(graphs.length).toBeGreaterThanOrEqual(20);
    for (const p of graphs) {
      expect(p.datasource, p.title).toEqual(DATASOURCE);
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) {
        expect(t.datasource, p.title).toEqual(p.datasource);
        expect(t.expr, p.title).toBeTruthy();
      }
      expect(new Set(p.targets.map((t: Obj) => t.refId)).size, p.title).toBe(p.targets.length);
    }
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\$\{?(\w+)/g)].map((m) => m[1])));
    expect([...used].sort()).toEqual(['__rate_interval', 'backend']);
  });

  it('panel ids are unique and panels tile the 24-column grid without overlapping', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const cells = new Set<string>();
    for (const { title, gridPos: g } of panels) {
      expect(g.x + g.w, title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('shows traffic and errors by backend and tool, tool p50/p95/p99, upstreams, sessions, discovery and policy', () => {
    const has = (re: RegExp) =>
      expect(
        exprs.some((e) => re.test(e)),
        String(re),
      ).toBe(true);
    has(/sum by \(backend\) \(rate\(mcp_server_operation_duration_seconds_count\{/);
    has(
      /sum by \(backend, error_type\) \(rate\(mcp_server_operation_duration_seconds_count\{[^}]*error_type!=""/,
    );
    has(/sum by \(backend, gen_ai_tool_name\) \(rate\(mcp_server_operation_duration_seconds_count\{[^}]*\}/);
    has(
      /by \(backend, gen_ai_tool_name\) \(rate\(mcp_server_operation_duration_seconds_count\{[^}]*error_type!=""/,
    );
    for (const q of ['0.5', '0.95', '0.99']) {
      has(
        new RegExp(
          `^histogram_quantile\\(${q}, sum by \\(backend, gen_ai_tool_name, le\\) \\(rate\\(mcp_server_operation_duration_seconds_bucket\\{`,
        ),
      );
    }
    has(/mcplane_upstream_up\{/);
    has(
      /histogram_quantile\(0\.99, sum by \(backend, target, le\) \(rate\(mcp_client_operation_duration_seconds_bucket/,
    );
    has(/mcplane_sessions_active/);
    has(/mcplane_sse_streams_open/);
    has(/histogram_quantile\(0\.99, sum by \(le\) \(rate\(mcplane_discovery_lag_seconds_bucket/);
    has(/mcplane_rate_limit_rejections_total/);
    has(/mcplane_authorization_denials_total/);
    has(/mcplane_authentications_total\{result!="ok"\}/);
    has(/mcplane_limit_rejections_total/);
    // The backend variable filters every per-backend query.
    for (const e of exprs.filter((x) =>
      /\b(mcp_\w+|mcplane_(upstream|requests|rate_limit|authorization)\w*)\{/.test(x),
    )) {
      expect(e).toContain('backend=~"$backend"');
    }
  });

  it('every expression is valid PromQL (promtool, with the Grafana variables substituted)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcplane-dashboard-'));
    const rules = exprs.map((expr, i) => ({
      record: `dashboard:panel_query:${i}`,
      expr: expr.replaceAll('$__rate_interval', '1m').replaceAll('$backend', '.*'),
    }));
    writeFileSync(join(dir, 'dashboard-queries.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    const run = spawnSync(promtoolBinary(), ['check', 'rules', 'dashboard-queries.yaml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(run.stdout, run.stderr).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(run.status, run.stderr).toBe(0);
  });
});

describe('helm-render .Files, as Helm fills it', () => {
  it('Get, GetBytes and Lines read chart files outside templates/, less Chart.yaml, values and .helmignore', () => {
    const chart = mkdtempSync(join(tmpdir(), 'mcplane-files-chart-'));
    const write = (path: string, text: string) => {
      mkdirSync(join(chart, path, '..'), { recursive: true });
      writeFileSync(join(chart, path), text);
    };
    write('Chart.yaml', 'apiVersion: v2\nname: files\nversion: 0.1.0\n');
    write('values.yaml', 'x: 1\n');
    write('.helmignore', '# comment\n*.bak\nscratch/\n/top.txt\n');
    write('dashboards/a.json', '{"a": 1}\n');
    write('notes/lines.txt', 'one\ntwo\n');
    write('notes/old.bak', 'ignored');
    write('scratch/x.txt', 'ignored');
    write('top.txt', 'ignored');
    write('crds/c.yaml', 'kind: CustomResourceDefinition\n');
    const probes: [string, string][] = [
      ['json', '{{ .Files.Get "dashboards/a.json" | trim }}'],
      ['bytes', '{{ len (.Files.GetBytes "dashboards/a.json") }}'],
      ['lines', '{{ range .Files.Lines "notes/lines.txt" }}[{{ . }}]{{ end }}'],
      ['missing', '{{ .Files.Get "nope.txt" }}|{{ len (.Files.Lines "nope.txt") }}'],
      [
        'chart',
        '{{ .Files.Get "Chart.yaml" }}{{ .Files.Get "values.yaml" }}{{ .Files.Get "templates/cm.yaml" }}',
      ],
      [
        'ignored',
        '{{ .Files.Get "notes/old.bak" }}{{ .Files.Get "scratch/x.txt" }}{{ .Files.Get "top.txt" }}',
      ],
      ['crds', '{{ .Files.Get "crds/c.yaml" | trim }}'],
    ];
    write(
      'templates/cm.yaml',
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: files\ndata:\n${probes
        .map(([k]) => `  ${k}: {{ include "probe.${k}" . | quote }}`)
        .join('\n')}\n`,
    );
    write(
      'templates/_probes.tpl',
      probes.map(([k, v]) => `{{- define "probe.${k}" -}}${v}{{- end -}}`).join('\n'),
    );
    const run = spawnSync(ensureRenderer(), ['--chart', chart], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const data = (find(parseManifests(run.stdout), 'ConfigMap', 'files') as Obj).data;
    expect(data).toEqual({
      json: '{"a": 1}',
      bytes: '9',
      lines: '[one][two]',
      missing: '|0',
      chart: '',
      ignored: '',
      crds: 'kind: CustomResourceDefinition',
    });
  });
});

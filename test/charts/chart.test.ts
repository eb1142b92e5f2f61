/**
 * charts/mcplane rendered as `helm install agentgateway charts/mcplane` would: every manifest parses,
 * fits its Kubernetes API type, and carries what the walk-through and a platform review need.
 * Golden files: test/charts/<case>.values.yaml → <case>.out.yaml (UPDATE_GOLDEN=1 rewrites them).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatewayClassSchema } from '../../src/shared/resources.js';
import { checkShape, hasModel } from '../support/helm/k8s-shape.js';
import { find, type Manifest, render, renderManifests } from '../support/helm/render.js';

const HERE = import.meta.dirname;
const MONITORING = 'monitoring.coreos.com/v1';

type Obj = Record<string, any>;
const container = (m: Obj): Obj => (m as Obj).spec.template.spec.containers[0];
const args = (m: Obj): string[] => container(m).args;

describe('default install (helm install agentgateway charts/mcplane)', () => {
  const manifests = renderManifests();

  it('renders exactly the expected objects, named after the release', () => {
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'ServiceAccount/agentgateway',
      'Secret/agentgateway-session-key',
      'ClusterRole/agentgateway-mcp-system',
      'ClusterRoleBinding/agentgateway-mcp-system',
      'Role/agentgateway-leader-election',
      'RoleBinding/agentgateway-leader-election',
      'Service/agentgateway',
      'Service/agentgateway-metrics',
      'Service/agentgateway-peers',
      'Deployment/agentgateway',
      'GatewayClass/agentgateway',
    ]);
  });

  it('every object fits its Kubernetes API type (no unknown fields, right JSON types)', () => {
    for (const m of manifests) {
      expect(m.apiVersion, m.source).toBeTruthy();
      expect(m.metadata.name, m.source).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      if (m.kind === 'GatewayClass') gatewayClassSchema.parse(m);
      else expect(checkShape(m), `${m.kind} ${m.metadata.name}`).toEqual([]);
    }
  });

  it('namespaced objects are in the release namespace; cluster-scoped ones have none', () => {
    const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding', 'GatewayClass']);
    for (const m of manifests) {
      expect(m.metadata.namespace, m.kind).toBe(clusterScoped.has(m.kind) ? undefined : 'mcp-system');
    }
  });

  it('the Deployment runs the binary with the flags that src/config.ts defines', async () => {
    const { FLAGS } = await import('../../src/config.js');
    const deployment = find(manifests, 'Deployment');
    for (const arg of args(deployment)) {
      const flag = /^--([a-z-]+)=/.exec(arg)?.[1];
      expect(flag && flag in FLAGS, `${arg} is not a flag of src/config.ts`).toBe(true);
    }
    expect(args(deployment)).toEqual([
      '--controller-name=mcplane.dev/gateway-controller',
      '--bind-address=0.0.0.0',
      '--admin-address=0.0.0.0',
      '--admin-port=9091',
      '--log-level=info',
      '--log-format=json',
      '--cluster-domain=cluster.local',
      '--drain-timeout=25s',
      '--pod-name=$(POD_NAME)',
      '--leader-elect=true',
      '--lease-name=agentgateway-status-writer',
      '--lease-namespace=$(POD_NAMESPACE)',
      '--gateway-address=agentgateway.mcp-system.svc.cluster.local',
      '--session-key-file=/etc/mcplane/session-key/session-keys',
      '--peer-service=agentgateway-peers',
    ]);
    expect(container(deployment).command).toBeUndefined(); // the image's ENTRYPOINT runs node dist/main.js
    const env = container(deployment).env as Obj[];
    expect(env.map((e) => [e.name, e.valueFrom.fieldRef.fieldPath])).toEqual([
      ['POD_NAME', 'metadata.name'],
      ['POD_NAMESPACE', 'metadata.namespace'],
    ]);
  });

  it('ports, probes, resources and a locked-down security context', () => {
    const deployment = find(manifests, 'Deployment') as Obj;
    const c = container(deployment);
    expect(c.ports).toEqual([
      { name: 'http-8080', containerPort: 8080, protocol: 'TCP' },
      { name: 'admin', containerPort: 9091, protocol: 'TCP' },
    ]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(c.resources.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(c.resources.limits.memory).toBe('512Mi');
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(pod.terminationGracePeriodSeconds).toBe(25 + 5);
    expect(pod.serviceAccountName).toBe('agentgateway');
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'mcplane',
      'app.kubernetes.io/instance': 'agentgateway',
    });
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    // The Secret volume's mode is octal 0440 as YAML 1.1 (what kubectl and helm read) sees it.
    expect(pod.volumes.find((v: Obj) => v.name === 'session-key').secret.defaultMode).toBe(0o440);
  });

  it('the listener Service selects the pods on the listener ports; metrics have their own Service', () => {
    const deployment = find(manifests, 'Deployment') as Obj;
    const podLabels = deployment.spec.template.metadata.labels;
    for (const name of ['agentgateway', 'agentgateway-metrics']) {
      const service = find(manifests, 'Service', name) as Obj;
      for (const [k, v] of Object.entries(service.spec.selector)) expect(podLabels[k]).toBe(v);
      const containerPorts = container(deployment).ports.map((p: Obj) => p.name);
      for (const port of service.spec.ports) expect(containerPorts).toContain(port.targetPort);
    }
    const listener = find(manifests, 'Service', 'agentgateway') as Obj;
    expect(listener.spec.type).toBe('ClusterIP');
    expect(listener.spec.ports.map((p: Obj) => p.port)).toEqual([8080]);
    expect(find(manifests, 'Service', 'agentgateway-metrics') as Obj).toMatchObject({
      spec: { ports: [{ name: 'admin', port: 9091 }] },
    });
  });

  it('replicas find each other through a headless peers Service on the admin port, not-ready pods included', () => {
    const deployment = find(manifests, 'Deployment') as Obj;
    const peers = find(manifests, 'Service', 'agentgateway-peers') as Obj;
    expect(peers.spec).toMatchObject({
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      ports: [{ name: 'admin', port: 9091, targetPort: 'admin', protocol: 'TCP' }],
    });
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(peers.spec.selector)) expect(podLabels[k]).toBe(v);
    // The binary takes the slice port named `admin` (src/peer-discovery.ts).
    expect(container(deployment).ports.map((p: Obj) => p.name)).toContain('admin');
    // Without a shared session key there is nothing to authenticate peers with: no Service, no flag.
    for (const values of [{ sessionKey: { enabled: false } }, { peers: { enabled: false } }]) {
      const off = renderManifests({ values });
      expect(off.some((m) => m.metadata.name === 'agentgateway-peers')).toBe(false);
      expect(args(find(off, 'Deployment')).some((a) => a.startsWith('--peer-service'))).toBe(false);
    }
  });

  it('the GatewayClass points at the controller name the binary serves by default', async () => {
    const { FLAGS } = await import('../../src/config.js');
    expect((find(manifests, 'GatewayClass') as Obj).spec.controllerName).toBe(FLAGS['controller-name'][1]);
  });

  it('the shape check catches a misspelt or mistyped field', () => {
    const deployment = structuredClone(find(manifests, 'Deployment')) as Obj;
    deployment.spec.template.spec.containers[0].securityContext.runAsNonroot = true;
    deployment.spec.replicas = '2';
    expect(checkShape(deployment as Manifest)).toEqual([
      'Deployment.spec.replicas: expected a number, got "2"',
      'Deployment.spec.template.spec.containers[0].securityContext.runAsNonroot: unknown field in V1SecurityContext',
    ]);
  });

  it('NOTES print the port-forward and Inspector steps', () => {
    const notes = render({ notes: true });
    expect(notes.status).toBe(0);
    expect(notes.stdout).toContain(
      'kubectl --namespace mcp-system port-forward deployment/agentgateway 8080:8080',
    );
    expect(notes.stdout).toContain('npx @modelcontextprotocol/inspector');
    expect(notes.stdout).toContain('http://localhost:8080/mcp');
  });
});

describe('naming', () => {
  it('any release name becomes the Deployment name; fullnameOverride wins', () => {
    expect(find(renderManifests({ name: 'mcp' }), 'Deployment').metadata.name).toBe('mcp');
    const overridden = renderManifests({ name: 'x', values: { fullnameOverride: 'gw' } });
    expect(find(overridden, 'Deployment').metadata.name).toBe('gw');
    expect(find(overridden, 'Role').metadata.name).toBe('gw-leader-election');
  });

  it('cluster-scoped names carry the namespace, so equal release names in two namespaces do not collide', () => {
    const a = find(renderManifests({ namespace: 'a' }), 'ClusterRole').metadata.name;
    const b = find(renderManifests({ namespace: 'b' }), 'ClusterRole').metadata.name;
    expect(a).not.toBe(b);
  });
});

describe('options', () => {
  const values = { podDisruptionBudget: { enabled: true }, autoscaling: { enabled: true } };

  it('PDB, HPA, ServiceMonitor and PodMonitor are off by default and valid when on', () => {
    const kinds = renderManifests().map((m) => m.kind);
    for (const kind of ['PodDisruptionBudget', 'HorizontalPodAutoscaler', 'ServiceMonitor', 'PodMonitor']) {
      expect(kinds).not.toContain(kind);
    }
    const on = renderManifests({
      values: { ...values, metrics: { serviceMonitor: { enabled: true }, podMonitor: { enabled: true } } },
    });
    expect(checkShape(find(on, 'PodDisruptionBudget'))).toEqual([]);
    const hpa = find(on, 'HorizontalPodAutoscaler') as Obj;
    expect(checkShape(hpa as Manifest)).toEqual([]);
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'agentgateway',
    });
    expect((find(on, 'Deployment') as Obj).spec.replicas).toBeUndefined(); // the HPA owns it
    const sm = find(on, 'ServiceMonitor') as Obj;
    expect(sm.apiVersion).toBe(MONITORING);
    const metricsService = find(on, 'Service', 'agentgateway-metrics') as Obj;
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) {
      expect(metricsService.metadata.labels[k], k).toBe(v);
    }
    // The listener Service must not match: it has no admin port.
    expect(find(on, 'Service', 'agentgateway').metadata.labels?.['app.kubernetes.io/component']).not.toBe(
      'metrics',
    );
    expect(sm.spec.endpoints).toEqual([{ port: 'admin', path: '/metrics', interval: '30s' }]);
    const pm = find(on, 'PodMonitor') as Obj;
    expect(pm.spec.podMetricsEndpoints[0].port).toBe('admin');
  });

  it('topologySpreadConstraints get the pod selector; hard anti-affinity is required', () => {
    const m = renderManifests({
      values: {
        podAntiAffinityPreset: 'hard',
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' },
        ],
      },
    });
    const pod = (find(m, 'Deployment') as Obj).spec.template.spec;
    expect(pod.topologySpreadConstraints[0].labelSelector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'mcplane',
      'app.kubernetes.io/instance': 'agentgateway',
    });
    expect(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
  });

  it('no gateway address is guessed for a LoadBalancer; GatewayClass and RBAC can be turned off', () => {
    const m = renderManifests({
      values: { service: { type: 'LoadBalancer' }, gatewayClass: { create: false }, rbac: { create: false } },
    });
    expect(args(find(m, 'Deployment')).some((a) => a.startsWith('--gateway-address'))).toBe(false);
    expect(m.map((x) => x.kind)).not.toContain('GatewayClass');
    expect(m.map((x) => x.kind)).not.toContain('ClusterRole');
  });

  it('leader election off: no Role, and the flag says so', () => {
    const m = renderManifests({ values: { leaderElection: { enabled: false } } });
    expect(m.map((x) => x.kind)).not.toContain('Role');
    expect(args(find(m, 'Deployment'))).toContain('--leader-elect=false');
  });
});

describe('golden files', () => {
  const cases = readdirSync(HERE)
    .filter((f) => f.endsWith('.values.yaml'))
    .map((f) => f.slice(0, -'.values.yaml'.length));

  it('has cases', () => expect(cases).toEqual(expect.arrayContaining(['default', 'production'])));

  for (const name of cases) {
    it(`${name}: renders as ${name}.out.yaml`, () => {
      const result = render({ values: [join(HERE, `${name}.values.yaml`)], fakeRandom: true });
      expect(result.stderr).toBe('');
      const golden = join(HERE, `${name}.out.yaml`);
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, result.stdout);
      expect(existsSync(golden), `${golden} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
      expect(result.stdout).toBe(readFileSync(golden, 'utf8'));
    });

    it(`${name}: every object fits its API type`, () => {
      for (const m of renderManifests({ values: [join(HERE, `${name}.values.yaml`)] })) {
        if (hasModel(m.apiVersion, m.kind)) expect(checkShape(m), `${m.kind} ${m.metadata.name}`).toEqual([]);
        else expect([`gateway.networking.k8s.io/v1`, MONITORING]).toContain(m.apiVersion);
      }
    });
  }
});

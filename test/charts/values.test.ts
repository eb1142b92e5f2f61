/**
 * Wrong values fail the install with a message naming the value: values.schema.json (validated as Helm
 * validates it) for types and ranges, template checks for what JSON Schema cannot say.
 */
import { describe, expect, it } from 'vitest';
import { find, render, renderManifests } from '../support/helm/render.js';

function failure(values: Record<string, unknown>, kubeVersion?: string): string {
  const result = render(kubeVersion ? { values, kubeVersion } : { values });
  expect(result.status, result.stdout).not.toBe(0);
  return result.stderr;
}

describe('values.schema.json', () => {
  it.each([
    [{ listeners: '8080' }, 'listeners: Invalid type. Expected: array, given: string'],
    [{ listeners: [] }, 'listeners: Array must have at least 1 items'],
    [{ listeners: [8080, 70000] }, 'listeners.1: Must be less than or equal to 65535'],
    [{ listeners: [8080, 8080] }, 'listeners: array items[0,1] must be unique'],
    [{ replicaCount: -1 }, 'replicaCount: Must be greater than or equal to 0'],
    [{ replicaCount: 1.5 }, 'replicaCount: Invalid type. Expected: integer, given: number'],
    [{ service: { type: 'Ingress' } }, 'service.type: service.type must be one of the following'],
    [{ logLevel: 'verbose' }, 'logLevel: logLevel must be one of the following'],
    [{ logFormat: 'auto' }, 'logFormat: logFormat must be one of the following'],
    [{ replicacount: 3 }, '(root): Additional property replicacount is not allowed'],
    [
      { sessionKey: { existingSecrets: 'x' } },
      'sessionKey: Additional property existingSecrets is not allowed',
    ],
    [{ controllerName: 'no-slash' }, 'controllerName: Does not match pattern'],
    [{ image: { digest: 'latest' } }, 'image.digest: Must validate at least one schema (anyOf)'],
    [{ drainTimeout: '25s' }, 'drainTimeout: Invalid type. Expected: integer, given: string'],
    [{ extraArgs: ['verbose'] }, 'extraArgs.0: Does not match pattern'],
    [{ tracing: { sampler: 'sometimes' } }, 'tracing.sampler: tracing.sampler must be one of the following'],
    [{ tracing: { samplerRatio: '10%' } }, 'tracing.samplerRatio: Does not match pattern'],
    [{ tracing: { otlpEndpoint: 'collector:4318' } }, 'tracing.otlpEndpoint: Does not match pattern'],
    [{ grafanaDashboard: { labelValue: 1 } }, 'grafanaDashboard.labelValue: Invalid type. Expected: string'],
    [{ grafanaDashboard: { label: 'grafana dashboard' } }, 'grafanaDashboard.label: Does not match pattern'],
    [
      { prometheusRule: { alerts: { targetDown: { for: '5 minutes' } } } },
      'prometheusRule.alerts.targetDown.for: Does not match pattern',
    ],
    [
      { prometheusRule: { alerts: { highErrorRatio: { threshold: 5 } } } },
      'prometheusRule.alerts.highErrorRatio.threshold: Must be less than or equal to 1',
    ],
    [
      { prometheusRule: { alerts: { highLatencyP99: { thresholdSeconds: 0 } } } },
      'prometheusRule.alerts.highLatencyP99.thresholdSeconds: Must be greater than 0',
    ],
    [
      { prometheusRule: { alerts: { targetdown: { enabled: true } } } },
      'prometheusRule.alerts: Additional property targetdown is not allowed',
    ],
  ])('%j is rejected', (values, message) => {
    const stderr = failure(values);
    expect(stderr).toContain("values don't meet the specifications of the schema(s)");
    expect(stderr).toContain(message);
  });

  it('the defaults and a full production values file pass', () => {
    expect(render().status).toBe(0);
    expect(render({ values: [`${import.meta.dirname}/production.values.yaml`] }).status).toBe(0);
  });
});

describe('checks in the templates', () => {
  it('the admin port may not be a listener port', () => {
    expect(failure({ listeners: [8080, 9091] })).toContain('adminPort 9091 is also in listeners');
  });

  it('a PDB takes minAvailable or maxUnavailable, not both', () => {
    expect(failure({ podDisruptionBudget: { enabled: true, maxUnavailable: 1 } })).toContain(
      'set minAvailable or maxUnavailable, not both',
    );
    const pdb = find(
      renderManifests({
        values: { podDisruptionBudget: { enabled: true, minAvailable: null, maxUnavailable: '50%' } },
      }),
      'PodDisruptionBudget',
    ) as any;
    expect(pdb.spec).toMatchObject({ maxUnavailable: '50%' });
    expect(pdb.spec.minAvailable).toBeUndefined();
  });

  it('autoscaling bounds must be ordered', () => {
    expect(failure({ autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 2 } })).toContain(
      'minReplicas 5 is greater than maxReplicas 2',
    );
  });

  it('a preStop sleep needs Kubernetes 1.30', () => {
    expect(failure({ preStopSleepSeconds: 5 }, 'v1.29.4')).toContain('needs Kubernetes 1.30 or later');
    const pod = (find(renderManifests({ values: { preStopSleepSeconds: 5 } }), 'Deployment') as any).spec
      .template.spec;
    expect(pod.containers[0].lifecycle.preStop.sleep.seconds).toBe(5);
    expect(pod.terminationGracePeriodSeconds).toBe(5 + 25 + 5);
  });

  it('a ServiceMonitor needs the metrics Service', () => {
    expect(
      failure({ metrics: { service: { enabled: false }, serviceMonitor: { enabled: true } } }),
    ).toContain('metrics.serviceMonitor needs metrics.service.enabled=true');
  });
});

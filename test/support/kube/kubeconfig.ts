/** A KubeConfig pointing at the test API server (plain HTTP needs skipTLSVerify in client-node 1.x). */
import { KubeConfig } from '@kubernetes/client-node';

export function kubeConfigFor(url: string, options: { token?: string; namespace?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: url, skipTLSVerify: true }],
    users: [{ name: 'test-user', token: options.token ?? 'test-token' }],
    contexts: [
      { name: 'test', cluster: 'test', user: 'test-user', namespace: options.namespace ?? 'default' },
    ],
    currentContext: 'test',
  });
  return kc;
}

/**
 * Loading the KubeConfig: `--kubeconfig`, else $KUBECONFIG, ~/.kube/config, in-cluster. client-node's
 * loadFromDefault falls back silently to http://localhost:8080; we fail with a message instead.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeConfigEnvironment {
  env: NodeJS.ProcessEnv;
  homeDir: string;
  /** Prefix of the in-cluster service-account path (tests point it at a temporary directory). */
  inClusterPrefix: string;
}

const DEFAULT_ENVIRONMENT: KubeConfigEnvironment = {
  env: process.env,
  homeDir: homedir(),
  inClusterPrefix: '',
};

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

export function loadKubeConfig(path?: string, environment: Partial<KubeConfigEnvironment> = {}): KubeConfig {
  const { env, homeDir, inClusterPrefix } = { ...DEFAULT_ENVIRONMENT, ...environment };
  const kc = new KubeConfig();
  const fromFiles = (files: string[], source: string) => {
    for (const file of files) {
      if (!existsSync(file)) throw new KubeConfigError(`kubeconfig ${file} (${source}) does not exist`);
    }
    try {
      kc.loadFromFile(files[0]!);
      for (const file of files.slice(1)) {
        const more = new KubeConfig();
        more.loadFromFile(file);
        kc.mergeConfig(more);
      }
    } catch (err) {
      throw new KubeConfigError(
        `cannot read kubeconfig ${files.join(', ')} (${source}): ${(err as Error).message}`,
      );
    }
    return source;
  };
  let source: string;
  const envFiles = (env.KUBECONFIG ?? '').split(process.platform === 'win32' ? ';' : ':').filter(Boolean);
  const homeConfig = join(homeDir, '.kube', 'config');
  if (path) source = fromFiles([path], '--kubeconfig');
  else if (envFiles.length > 0) source = fromFiles(envFiles, '$KUBECONFIG');
  else if (existsSync(homeConfig)) source = fromFiles([homeConfig], '~/.kube/config');
  else if (env.KUBERNETES_SERVICE_HOST && existsSync(`${inClusterPrefix}${SERVICE_ACCOUNT_TOKEN}`)) {
    kc.loadFromCluster(inClusterPrefix);
    source = 'in-cluster service account';
  } else {
    throw new KubeConfigError(
      'no Kubernetes configuration found: pass --kubeconfig PATH, set KUBECONFIG, create ~/.kube/config, ' +
        'run inside a cluster, or use --manifests PATH for standalone mode',
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new KubeConfigError(
      `kubeconfig from ${source} has no usable current context ("${kc.getCurrentContext() || '<unset>'}" names no cluster)`,
    );
  }
  if (!/^https?:\/\//.test(cluster.server)) {
    throw new KubeConfigError(
      `kubeconfig from ${source}: cluster "${cluster.name}" has no http(s) server URL`,
    );
  }
  return kc;
}

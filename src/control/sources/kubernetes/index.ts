/** The Kubernetes source: reflectors that fill the ResourceStore from the API server. */
export { type KubeSource, type KubeSourceOptions, startKubeSource } from './kube-source.js';
export { KubeConfigError, loadKubeConfig } from './kubeconfig.js';
export { DEFAULT_TIMINGS, type ReflectorTimings } from './timings.js';

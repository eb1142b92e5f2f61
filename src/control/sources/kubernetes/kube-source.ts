/**
 * The Kubernetes source: one reflector per kind in KINDS, all writing into the ResourceStore, with a
 * combined readiness (synced once every reflector has synced; optional CRDs may be absent).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../../shared/logger.js';
import type { Metrics } from '../../../shared/metrics.js';
import { KIND_NAMES, KINDS, type KindName } from '../../../shared/resources.js';
import type { ResourceStore } from '../store.js';
import { Reflector } from './reflector.js';
import { DEFAULT_TIMINGS, type ReflectorTimings } from './timings.js';

export interface KubeSource {
  /** true when every reflector has synced (optional CRDs may be absent). Sticky across reconnects. */
  readonly synced: boolean;
  /** per kind: 'syncing' | 'synced' | 'absent' | 'error: <reason>' — shown by /readyz (diagnostics; gate on `synced`). */
  readiness(): Record<string, string>;
  /** Called once, when `synced` first becomes true (at once if it already is). */
  onSynced(cb: () => void): void;
  stop(): Promise<void>;
}

export interface KubeSourceOptions {
  kubeConfig: KubeConfig;
  store: ResourceStore;
  logger: Logger;
  metrics: Metrics;
  timings?: Partial<ReflectorTimings>;
  /** Optional server-side label selectors per kind (applied to both list and watch). */
  labelSelectors?: Partial<Record<KindName, string>>;
  /** Limit the kinds watched (default: all of KINDS). */
  kinds?: readonly KindName[];
}

export function startKubeSource(options: KubeSourceOptions): KubeSource {
  const timings: ReflectorTimings = { ...DEFAULT_TIMINGS, ...options.timings };
  const waiting: (() => void)[] = [];
  let stopped = false;
  const allSynced = () => reflectors.every((r) => r.synced);
  const onChange = () => {
    if (stopped || !allSynced() || waiting.length === 0) return;
    options.logger.info('kubernetes source synced');
    for (const cb of waiting.splice(0)) {
      try {
        cb();
      } catch (err) {
        options.logger.error({ err }, 'onSynced callback threw');
      }
    }
  };
  const reflectors = (options.kinds ?? KIND_NAMES).map(
    (name) =>
      new Reflector({
        name,
        info: KINDS[name] as never,
        kubeConfig: options.kubeConfig,
        store: options.store,
        logger: options.logger,
        metrics: options.metrics,
        timings,
        labelSelector: options.labelSelectors?.[name] ?? KINDS[name].labelSelector,
        onChange,
      }),
  );
  for (const name of options.kinds ?? KIND_NAMES) options.metrics.reflectorSynced.set({ kind: name }, 0);
  for (const r of reflectors) r.start();

  return {
    get synced() {
      return allSynced();
    },
    readiness: () =>
      Object.fromEntries(reflectors.map((r, i) => [(options.kinds ?? KIND_NAMES)[i]!, r.state])),
    onSynced(cb) {
      if (stopped) return;
      if (allSynced()) queueMicrotask(cb);
      else waiting.push(cb);
    },
    async stop() {
      stopped = true;
      waiting.length = 0;
      await Promise.all(reflectors.map((r) => r.stop()));
    },
  };
}

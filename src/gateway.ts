/**
 * Wiring: the one place where the control plane and the proxy meet (docs/design.md section 2).
 *
 *   source → store → reconciler (translate) → publisher ─┬→ listener manager (ports)
 *                                                         └→ MCP service (list_changed to sessions)
 *
 * startGateway() is what main.ts runs and what end-to-end tests start in-process.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { type Config, ConfigError } from './config.js';
import { Reconciler } from './control/reconciler.js';
import { FileSource } from './control/sources/files.js';
import { ResourceStore } from './control/sources/store.js';
import { servicePeers } from './peer-discovery.js';
import { createAdminApp, type Readiness } from './proxy/admin.js';
import { ListenerManager } from './proxy/listeners.js';
import { KeyRing, McpService, Revocations } from './proxy/mcp/index.js';
import { GATEWAY_VERSION } from './proxy/mcp/wire/protocol-version.js';
import { PeerAuth } from './proxy/peers/peer-auth.js';
import { peerEndpoint } from './proxy/peers/peer-endpoint.js';
import { PeerSync } from './proxy/peers/peer-sync.js';
import { TrustedProxies } from './proxy/policy/forwarded.js';
import { Guards } from './proxy/policy/guards.js';
import { type HttpServer, listen, serveFetch } from './proxy/server.js';
import { shutdownReason } from './proxy/upstream/errors.js';
import { formatDuration } from './shared/deadline.js';
import { withTargetHealth } from './shared/health-status.js';
import type { Logger } from './shared/logger.js';
import { createMetrics, type Metrics } from './shared/metrics.js';
import { TablePublisher } from './shared/publisher.js';
import type { ObjectStatus } from './shared/status.js';
import { startTracing } from './shared/tracing.js';

/**
 * How long before the drain deadline the calls still running are aborted with a shutdown error: time
 * for the error to reach the client before the connection is destroyed.
 */
const ANSWER_BEFORE_DEADLINE_MS = 500;

export interface Gateway {
  readonly publisher: TablePublisher;
  readonly store: ResourceStore;
  readonly metrics: Metrics;
  readonly adminPort: number;
  readonly listeners: ListenerManager;
  readiness(): Readiness;
  /** Graceful stop: readiness false at once, drain up to config.drainTimeout, then close everything. */
  stop(): Promise<void>;
}

/** The session key ring from --session-key / --session-key-file; a bad key names its flag. */
async function loadKeyRing(config: Config, logger: Logger): Promise<KeyRing> {
  const specs: { flag: string; spec: string }[] = [];
  if (config.sessionKey) specs.push({ flag: '--session-key', spec: config.sessionKey });
  if (config.sessionKeyFile) {
    const text = await readFile(config.sessionKeyFile, 'utf8').catch((err: Error) => {
      throw new ConfigError(`--session-key-file: cannot read ${config.sessionKeyFile}: ${err.message}`);
    });
    const lines = text
      .split(/[\n,]/)
      .map((line) => line.trim())
      .filter((line) => line.length > 0 && !line.startsWith('#'));
    specs.push({ flag: '--session-key-file', spec: lines.join(',') });
  }
  for (const { flag, spec } of specs) {
    try {
      KeyRing.fromSpec(spec);
    } catch (err) {
      throw new ConfigError(`${flag}: ${(err as Error).message}`);
    }
  }
  if (specs.length > 0) return KeyRing.fromSpec(specs.map((s) => s.spec).join(','));
  logger.warn(
    'no --session-key or --session-key-file: using a random per-process key; sessions will not survive a restart or span replicas',
  );
  return KeyRing.random();
}

interface Source {
  readonly synced: boolean;
  /** Kubernetes mode with --peer-service: the other replicas' admin addresses, from EndpointSlices. */
  readonly peers?: () => readonly string[];
  readiness(): Record<string, string>;
  /** Where translate()'s statuses go: the status writer in Kubernetes mode, nowhere standalone. */
  onStatuses?(statuses: readonly ObjectStatus[]): void;
  stop(): Promise<void> | void;
}

async function startFileSource(
  config: Config,
  store: ResourceStore,
  logger: Logger,
  metrics: Metrics,
): Promise<Source> {
  const path = config.manifests!;
  const files = new FileSource({ path, store, logger, metrics });
  await files.start();
  return {
    get synced() {
      return files.synced;
    },
    readiness: () => ({ manifests: files.synced ? 'loaded' : `no valid manifests loaded from ${path}` }),
    stop: () => files.stop(),
  };
}

/**
 * Reflectors fill the store; the Lease holder writes status; every replica serves traffic. The
 * Kubernetes modules (and @kubernetes/client-node, tens of MiB and a few hundred ms to load) are
 * imported only here, so standalone mode never loads them.
 */
async function startKubernetes(
  config: Config,
  store: ResourceStore,
  logger: Logger,
  metrics: Metrics,
): Promise<Source> {
  const [{ LeaderElector, replicaIdentity }, { loadKubeConfig, startKubeSource }, { StatusWriter }] =
    await Promise.all([
      import('./control/leader.js'),
      import('./control/sources/kubernetes/index.js'),
      import('./control/status-writer.js'),
    ]);
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const kube = startKubeSource({ kubeConfig, store, logger, metrics });
  const writer = new StatusWriter({
    kubeConfig,
    store,
    controllerName: config.controllerName,
    logger,
    metrics,
  });
  const podNamespace =
    process.env.POD_NAMESPACE ??
    kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ??
    'default';
  const namespace = config.leaseNamespace ?? podNamespace;
  const self = config.podName ?? process.env.POD_NAME ?? hostname();
  const peers = config.peerService ? servicePeers(store, podNamespace, config.peerService, self) : undefined;
  const elector = config.leaderElect
    ? new LeaderElector({
        kubeConfig,
        namespace,
        name: config.leaseName,
        identity: replicaIdentity(config.podName),
        leaseDurationMs: config.leaseDuration,
        renewDeadlineMs: Math.round((config.leaseDuration * 2) / 3),
        retryPeriodMs: Math.round((config.leaseDuration * 2) / 15),
        logger,
        metrics,
      })
    : undefined;
  let electionStarted = false;
  return {
    get synced() {
      return kube.synced;
    },
    ...(peers ? { peers } : {}),
    readiness: () => kube.readiness(),
    onStatuses: (statuses) => {
      writer.update(statuses);
      // Contend only once the first table exists: status from a partial view would flip conditions.
      if (electionStarted) return;
      electionStarted = true;
      if (!elector) writer.setLeader(true);
      else {
        elector.onStartedLeading(() => writer.setLeader(true));
        elector.onStoppedLeading(() => writer.setLeader(false));
        elector.start();
      }
    },
    async stop() {
      await kube.stop();
      await writer.stop();
      await elector?.stop(); // releases the Lease so another replica takes over at once
    },
  };
}

/** Peers need the shared key (they authenticate with it); --peer-service needs the Kubernetes source. */
function checkPeerFlags(config: Config, keyRing: KeyRing): void {
  const wanted = config.peers.length > 0 || config.peerService !== undefined;
  if (wanted && keyRing.ephemeral) {
    throw new ConfigError(
      '--peers/--peer-service: replicas exchange deleted sessions only with a shared --session-key or --session-key-file',
    );
  }
  if (config.peerService !== undefined && config.manifests) {
    throw new ConfigError(
      '--peer-service: needs Kubernetes mode; standalone, list the replicas with --peers',
    );
  }
}

/** Both --peers and --peer-service may be given: the union, or undefined for no peers at all. */
function peersOf(config: Config, source: Source): (() => readonly string[]) | undefined {
  const fixed = config.peers;
  const discovered = source.peers;
  if (!discovered) return fixed.length > 0 ? () => fixed : undefined;
  if (fixed.length === 0) return discovered;
  return () => [...new Set([...fixed, ...discovered()])];
}

export async function startGateway(
  config: Config,
  logger: Logger,
  metrics = createMetrics(),
  /** Where the OTEL_* variables are read (tracing is off without an OTLP endpoint). */
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Gateway> {
  const tracing = await startTracing(env, GATEWAY_VERSION);
  if (tracing) logger.info('tracing: spans exported over OTLP/HTTP (OTEL_* variables)');
  const store = new ResourceStore();
  const publisher = new TablePublisher();
  const keyRing = await loadKeyRing(config, logger);
  checkPeerFlags(config, keyRing);
  const revocations = new Revocations({
    maxEntries: config.maxRevokedSessions,
    lifetimeMs: config.sessionMaxLifetime,
    onSize: (size) => metrics.revokedSessions.set(size),
  });
  revocations.onChange(({ floorRaised, floor, origin }) => {
    if (!floorRaised) return;
    const notIssuedBefore = new Date(floor).toISOString();
    logger.warn(
      { notIssuedBefore, origin },
      '--max-revoked-sessions is full: sessions issued before this time end, so that no deleted one comes back',
    );
  });
  // translate()'s statuses with each MCP backend's Healthy condition (this replica's view of its
  // targets) laid over them, again whenever a target goes down or comes back.
  let lastStatuses: readonly ObjectStatus[] | undefined;
  const writeStatuses = () => {
    if (lastStatuses) source.onStatuses?.(withTargetHealth(lastStatuses, mcp.downTargets()));
  };
  const mcp = new McpService({
    logger,
    metrics,
    keyRing,
    revocations,
    sessionIdleTtlMs: config.sessionIdleTtl,
    sessionMaxLifetimeMs: config.sessionMaxLifetime,
    maxSessions: config.maxSessions,
    maxInitializeBytes: config.maxInitializeBytes,
    maxBodyBytes: config.maxBodyBytes,
    fanoutTimeoutMs: config.fanoutTimeout,
    sseKeepAliveMs: config.sseKeepalive,
    listCache: config.listCache,
    maxBatchSize: config.maxBatchSize,
    maxSessionInflight: config.maxSessionInflight,
    maxSessionTargetCalls: config.maxSessionTargetCalls,
    maxStreamBufferBytes: config.maxStreamBuffer,
    sessionBufferBytes: config.sessionBufferBytes,
    upstreamEra: config.upstreamEra,
    upstreamEraMaxAgeMs: config.upstreamEraMaxAge,
    logSubject: config.logSubject,
    onHealthChange: () => writeStatuses(),
    health: {
      failureThreshold: config.upstreamFailureThreshold,
      probeIntervalMs: config.upstreamProbeInterval,
      graceMs: config.upstreamDownGrace,
    },
    ...(tracing ? { tracing } : {}),
  });
  metrics.toolLabels.maxPerBackend = config.metricsMaxTools;
  const guards = new Guards({ logger, metrics, trustedProxies: new TrustedProxies(config.trustedProxies) });
  const listeners = new ListenerManager({
    bindAddress: config.bindAddress,
    requestTimeoutMs: config.requestTimeout,
    headersTimeoutMs: config.headersTimeout,
    maxClientConnections: config.maxClientConnections,
    allowedOrigins: config.allowedOrigins,
    table: () => publisher.current,
    mcp,
    guards,
    logger,
    metrics,
  });
  publisher.onChange((change) => {
    void listeners.sync(change.next);
    mcp.onTableChange(change);
    guards.retain(change.next);
  });

  let draining = false;
  const reconciler = new Reconciler({
    store,
    publisher,
    translateOptions: {
      controllerName: config.controllerName,
      clusterDomain: config.clusterDomain,
      gatewayAddresses: config.gatewayAddress ? [config.gatewayAddress] : [],
    },
    logger,
    metrics,
    debounceMs: config.debounce,
    onStatuses: (statuses) => {
      lastStatuses = statuses;
      writeStatuses();
    },
  });

  const source = config.manifests
    ? await startFileSource(config, store, logger, metrics)
    : await startKubernetes(config, store, logger, metrics);
  // Replicas sharing a key exchange deleted sessions: --peers, and/or --peer-service's endpoints.
  const auth = keyRing.ephemeral ? undefined : new PeerAuth(keyRing);
  const peerList = peersOf(config, source);
  const sync =
    auth && peerList ? new PeerSync({ auth, revocations, peers: peerList, logger, metrics }) : undefined;
  const readiness = (): Readiness => {
    const details: Record<string, string> = { ...source.readiness() };
    if (!publisher.ready) details.table = 'not built yet';
    else if (!listeners.synced) details.listeners = 'opening ports';
    for (const [port, reason] of listeners.failures) details[`port ${port}`] = `cannot listen: ${reason}`;
    if (sync && !sync.ready) details.peers = 'pulling deleted sessions from peers';
    if (draining) details.shutdown = 'draining';
    const peersReady = sync?.ready ?? true;
    return {
      ready: !draining && source.synced && publisher.ready && listeners.synced && peersReady,
      details,
    };
  };
  const admin: HttpServer = await listen(
    serveFetch(
      createAdminApp(metrics, readiness, auth && peerEndpoint({ auth, revocations, logger, metrics })).fetch,
    ),
    config.adminPort,
    config.adminAddress,
    {
      requestTimeoutMs: config.requestTimeout,
      headersTimeoutMs: config.headersTimeout,
      onLimit: (limit) => metrics.limitRejected(limit),
    },
  );
  logger.info({ port: admin.port, address: config.adminAddress }, 'admin server: /metrics /healthz /readyz');
  // Once the admin port answers peers and (Kubernetes) the EndpointSlices naming them have synced.
  const startPeers = () => {
    if (draining || !sync) return;
    if (source.synced) void sync.start();
    else setTimeout(startPeers, 20).unref();
  };
  startPeers();

  // Hold the first build until the source has synced: a table from a partial view would flap routes.
  const startReconciler = () => {
    if (source.synced) reconciler.start();
    else setTimeout(startReconciler, 20).unref();
  };
  startReconciler();

  return {
    publisher,
    store,
    metrics,
    adminPort: admin.port,
    listeners,
    readiness,
    async stop() {
      if (draining) return;
      draining = true;
      const { drainTimeout } = config;
      logger.info({ drainTimeoutMs: drainTimeout }, 'shutting down: draining in-flight requests and streams');
      reconciler.stop();
      // The drain clock starts now: stop accepting connections, answer with `Connection: close`, end
      // GET streams, and let calls in flight finish (server.ts, McpService.close).
      const drained = Promise.all([mcp.close(drainTimeout), listeners.close()]);
      const sourceStopped = source.stop();
      // A moment before the deadline, calls still running are answered with an error that says why,
      // instead of their connections being cut with no answer at all.
      const cut = setTimeout(
        () => {
          const calls = listeners.abort(shutdownReason(formatDuration(drainTimeout)));
          if (calls === 0) return;
          metrics.limitRejected('drain_timeout', calls);
          logger.warn({ calls }, 'drain timeout: answering the calls still running with an error');
        },
        Math.max(0, drainTimeout - Math.min(ANSWER_BEFORE_DEADLINE_MS, drainTimeout / 2)),
      );
      const timeout = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), drainTimeout).unref(),
      );
      if ((await Promise.race([drained, timeout])) === 'timeout') {
        logger.warn('drain timeout reached: closing the remaining connections');
        listeners.destroy();
        // McpService.close() closes the upstream pools on its own timer, which ends now too.
        await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      }
      // Deletions answered during the drain still reach the peers.
      await sync?.stop();
      revocations.close();
      guards.close();
      clearTimeout(cut);
      await sourceStopped;
      admin.destroy();
      await admin.close();
      // The last spans are exported before the process ends.
      await tracing?.shutdown();
      logger.info('stopped');
    },
  };
}

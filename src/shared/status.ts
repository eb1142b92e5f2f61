/**
 * Status as data: translate() computes it, the status writer (leader only) writes it.
 *
 * Conditions carry no lastTransitionTime here, because translate() has no clock: the writer adds it,
 * keeping the old time when a condition's status did not change.
 */
import type { KindName } from './resources.js';

export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
}

/** Every condition reason translate() may use. Golden tests check that nothing else appears. */
export const Reason = {
  // shared
  Accepted: 'Accepted',
  Programmed: 'Programmed',
  ResolvedRefs: 'ResolvedRefs',
  Invalid: 'Invalid',
  // GatewayClass
  InvalidParameters: 'InvalidParameters',
  // Gateway / listeners
  ListenersNotValid: 'ListenersNotValid',
  UnsupportedProtocol: 'UnsupportedProtocol',
  InvalidRouteKinds: 'InvalidRouteKinds',
  NoConflicts: 'NoConflicts',
  ProtocolConflict: 'ProtocolConflict',
  HostnameConflict: 'HostnameConflict',
  PortUnavailable: 'PortUnavailable',
  // HTTPRoute parents
  NoMatchingParent: 'NoMatchingParent',
  NotAllowedByListeners: 'NotAllowedByListeners',
  NoMatchingListenerHostname: 'NoMatchingListenerHostname',
  UnsupportedValue: 'UnsupportedValue',
  BackendNotFound: 'BackendNotFound',
  InvalidKind: 'InvalidKind',
  RefNotPermitted: 'RefNotPermitted',
  UnsupportedProtocolBackend: 'UnsupportedProtocol',
  // MCP backends
  TranslationError: 'TranslationError',
  InvalidSelector: 'InvalidSelector',
  NoMatchingServices: 'NoMatchingServices',
  TargetsResolved: 'TargetsResolved',
  TargetNameCollision: 'TargetNameCollision',
  NoCollisions: 'NoCollisions',
  InvalidTargetName: 'InvalidTargetName',
  UnknownAnnotation: 'UnknownAnnotation',
  NotMcpBackend: 'NotMcpBackend',
  // MCP backends, from the data plane (health-status.ts)
  TargetsHealthy: 'TargetsHealthy',
  TargetsDown: 'TargetsDown',
  // AgentgatewayPolicy ancestors
  TargetNotFound: 'TargetNotFound',
  Unsupported: 'Unsupported',
} as const;
export type ReasonName = (typeof Reason)[keyof typeof Reason];

export interface ObjectRef {
  readonly kind: KindName;
  readonly namespace?: string;
  readonly name: string;
}

/**
 * The status translate() wants an object to have.
 * - GatewayClass, Gateway, Backend, AgentgatewayBackend: the whole `status` (we own it).
 * - HTTPRoute: only the `parents[]` entries with our controllerName; the writer keeps everyone else's.
 */
export interface ObjectStatus {
  readonly ref: ObjectRef;
  /** metadata.generation of the object the status was computed from. */
  readonly generation?: number;
  readonly status: Readonly<Record<string, unknown>>;
}

/**
 * Gateway step: which listeners of our Gateways are served, and why the others are not.
 *
 * Only `protocol: HTTP` is served. Two listeners on one port with the same hostname conflict: the one
 * of the older Gateway (then the earlier listener) wins, the other is reported Conflicted and not served.
 */
import type { Gateway, GatewayListener } from '../../shared/resources.js';
import { Reason, type ReasonName } from '../../shared/status.js';
import type { World } from './world.js';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const HTTP_ROUTE_KIND = { group: GATEWAY_GROUP, kind: 'HTTPRoute' } as const;

export interface RouteGroupKind {
  readonly group: string;
  readonly kind: string;
}

export interface Problem {
  readonly reason: ReasonName;
  readonly message: string;
}

export interface ListenerModel {
  /** `<namespace>/<gateway>/<listener name>`. */
  readonly key: string;
  readonly gateway: Gateway;
  readonly spec: GatewayListener;
  readonly supportedKinds: readonly RouteGroupKind[];
  /** Set when the listener is not Accepted (unsupported protocol). */
  readonly notAccepted?: Problem;
  /** Set when allowedRoutes.kinds lists kinds we do not serve. */
  readonly invalidKinds?: Problem;
  /** Set when another listener already claimed this port and hostname. */
  readonly conflict?: Problem;
  /** Routes can attach and the port is opened. */
  readonly served: boolean;
}

export interface GatewayModel {
  readonly gateway: Gateway;
  readonly listeners: readonly ListenerModel[];
}

function checkProtocol(protocol: string): Problem | undefined {
  if (protocol === 'HTTP') return undefined;
  const hint = protocol.toUpperCase() === 'HTTP' ? ' (protocol names are case-sensitive: write "HTTP")' : '';
  return {
    reason: Reason.UnsupportedProtocol,
    message: `protocol "${protocol}" is not supported${hint}; mcplane serves listeners with protocol HTTP only`,
  };
}

function checkKinds(listener: GatewayListener): { supported: RouteGroupKind[]; problem?: Problem } {
  const kinds = listener.allowedRoutes?.kinds;
  if (kinds === undefined) return { supported: [HTTP_ROUTE_KIND] };
  const supported: RouteGroupKind[] = [];
  const invalid: string[] = [];
  for (const k of kinds) {
    const group = k.group ?? GATEWAY_GROUP;
    if (group === GATEWAY_GROUP && k.kind === 'HTTPRoute') {
      if (supported.length === 0) supported.push(HTTP_ROUTE_KIND);
    } else invalid.push(`${group === '' ? 'core' : group}/${k.kind}`);
  }
  if (invalid.length === 0) return { supported };
  return {
    supported,
    problem: {
      reason: Reason.InvalidRouteKinds,
      message: `route kinds ${invalid.join(', ')} are not supported; supported: ${GATEWAY_GROUP}/HTTPRoute`,
    },
  };
}

/** Our Gateways (class with our controllerName), each listener validated, conflicts resolved by age. */
export function translateGateways(world: World): GatewayModel[] {
  const claimed = new Map<string, string>(); // `<port> <hostname>` → listener key that owns it
  const models: GatewayModel[] = [];
  for (const gateway of world.gateways) {
    if (!world.ourClasses.has(gateway.spec.gatewayClassName)) continue;
    const listeners = gateway.spec.listeners.map((spec): ListenerModel => {
      const key = `${gateway.metadata.namespace}/${gateway.metadata.name}/${spec.name}`;
      const notAccepted = checkProtocol(spec.protocol);
      const kinds = checkKinds(spec);
      let conflict: Problem | undefined;
      if (!notAccepted) {
        const slot = `${spec.port} ${spec.hostname ?? ''}`;
        const owner = claimed.get(slot);
        if (owner === undefined) claimed.set(slot, key);
        else {
          conflict = {
            reason: Reason.HostnameConflict,
            message: `port ${spec.port} with hostname ${spec.hostname ? `"${spec.hostname}"` : '(any)'} is already served by listener ${owner}; give this listener another hostname or port`,
          };
        }
      }
      return {
        key,
        gateway,
        spec,
        supportedKinds: kinds.supported,
        ...(notAccepted ? { notAccepted } : {}),
        ...(kinds.problem ? { invalidKinds: kinds.problem } : {}),
        ...(conflict ? { conflict } : {}),
        served: !notAccepted && !conflict && kinds.supported.length > 0,
      };
    });
    models.push({ gateway, listeners });
  }
  return models;
}

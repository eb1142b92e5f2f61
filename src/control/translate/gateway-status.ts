/**
 * Gateway status, rendered after the route step because listeners report their attachedRoutes.
 */
import { type Condition, Reason } from '../../shared/status.js';
import { condition, type StatusBook } from './conditions.js';
import type { GatewayModel, ListenerModel } from './gateways.js';

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;

/** `options.gatewayAddresses` → Gateway API addresses: an IP literal is IPAddress, anything else Hostname. */
export function gatewayAddresses(values: readonly string[]): { type: string; value: string }[] {
  return values.map((value) => ({
    type: IPV4.test(value) || value.includes(':') ? 'IPAddress' : 'Hostname',
    value,
  }));
}

function problemsOf(listener: ListenerModel): string[] {
  return [listener.notAccepted, listener.conflict, listener.invalidKinds]
    .filter((p) => p !== undefined)
    .map((p) => p.message);
}

function listenerConditions(listener: ListenerModel, generation: number | undefined): Condition[] {
  const { notAccepted, conflict, invalidKinds } = listener;
  return [
    notAccepted
      ? condition('Accepted', false, notAccepted.reason, notAccepted.message, generation)
      : condition('Accepted', true, Reason.Accepted, 'Listener accepted', generation),
    listener.served
      ? condition('Programmed', true, Reason.Programmed, 'Listener programmed', generation)
      : condition(
          'Programmed',
          false,
          Reason.Invalid,
          `Listener not served: ${problemsOf(listener).join('; ')}`,
          generation,
        ),
    invalidKinds
      ? condition('ResolvedRefs', false, invalidKinds.reason, invalidKinds.message, generation)
      : condition('ResolvedRefs', true, Reason.ResolvedRefs, 'All references resolved', generation),
    conflict
      ? condition('Conflicted', true, conflict.reason, conflict.message, generation)
      : condition('Conflicted', false, Reason.NoConflicts, 'No conflicts', generation),
  ];
}

function gatewayConditions(model: GatewayModel): Condition[] {
  const generation = model.gateway.metadata.generation;
  const invalid = model.listeners.filter((l) => problemsOf(l).length > 0);
  if (invalid.length === 0) {
    return [
      condition('Accepted', true, Reason.Accepted, 'Gateway accepted', generation),
      condition('Programmed', true, Reason.Programmed, 'Gateway programmed', generation),
    ];
  }
  const anyServed = model.listeners.some((l) => l.served);
  const detail = invalid.map((l) => `${l.spec.name}: ${problemsOf(l).join('; ')}`).join(' | ');
  const message = `Some listeners are not valid: ${detail}`;
  return [
    condition('Accepted', anyServed, Reason.ListenersNotValid, message, generation),
    condition('Programmed', anyServed, Reason.ListenersNotValid, message, generation),
  ];
}

export function writeGatewayStatuses(
  models: readonly GatewayModel[],
  attachedRoutes: ReadonlyMap<string, number>,
  addresses: readonly string[],
  book: StatusBook,
): void {
  for (const model of models) {
    const generation = model.gateway.metadata.generation;
    book.set('Gateway', model.gateway.metadata, {
      ...(addresses.length > 0 ? { addresses: gatewayAddresses(addresses) } : {}),
      conditions: gatewayConditions(model),
      listeners: model.listeners.map((listener) => ({
        name: listener.spec.name,
        attachedRoutes: attachedRoutes.get(listener.key) ?? 0,
        supportedKinds: listener.supportedKinds,
        conditions: listenerConditions(listener, generation),
      })),
    });
  }
}

/**
 * Table step: one IR Listener per port served by our Gateways, routes in precedence order.
 */
import type { Listener, RoutingTableContent } from '../../shared/table.js';
import type { GatewayModel } from './gateways.js';
import { compareStrings } from './order.js';
import { type RouteEntry, sortByPrecedence } from './precedence.js';

export function buildTable(
  gateways: readonly GatewayModel[],
  entriesByPort: ReadonlyMap<number, readonly RouteEntry[]>,
): RoutingTableContent {
  const bound = new Map<number, string[]>();
  for (const listener of gateways.flatMap((g) => g.listeners)) {
    if (!listener.served) continue;
    const keys = bound.get(listener.spec.port) ?? [];
    keys.push(listener.key);
    bound.set(listener.spec.port, keys);
  }
  const listeners: Listener[] = [...bound]
    .sort(([a], [b]) => a - b)
    .map(([port, keys]) => ({
      port,
      gatewayListeners: keys.sort(compareStrings),
      routes: sortByPrecedence(entriesByPort.get(port) ?? []).map((entry) => entry.route),
    }));
  return { listeners };
}

/** What translate() takes besides the snapshot, and what it returns. */
import type { ObjectStatus } from '../../shared/status.js';
import type { RoutingTableContent } from '../../shared/table.js';

export interface TranslateOptions {
  /** GatewayClasses whose spec.controllerName equals this are ours. */
  readonly controllerName: string;
  /** For Service DNS names: `<svc>.<ns>.svc.<clusterDomain>`. */
  readonly clusterDomain: string;
  /** Reported as `status.addresses` of every Gateway we serve (IPs as IPAddress, else Hostname). */
  readonly gatewayAddresses?: readonly string[];
}

export const DEFAULT_CONTROLLER_NAME = 'mcplane.dev/gateway-controller';

export interface TranslateResult {
  readonly table: RoutingTableContent;
  /** Sorted by kindKey(ref.kind, ref.namespace, ref.name). */
  readonly statuses: readonly ObjectStatus[];
}

/**
 * translate(snapshot) → { table, statuses }: pure, deterministic, whole-world (design.md section 1).
 * No I/O, no clocks, no globals. Golden tests in test/golden/translate pin its behaviour.
 */
import type { Snapshot } from '../../shared/resources.js';
import type { ObjectStatus } from '../../shared/status.js';
import type { RoutingTableContent } from '../../shared/table.js';

export interface TranslateOptions {
  /** GatewayClasses whose spec.controllerName equals this are ours. */
  readonly controllerName: string;
  /** For Service DNS names: `<svc>.<ns>.svc.<clusterDomain>`. */
  readonly clusterDomain: string;
}

export const DEFAULT_CONTROLLER_NAME = 'mcplane.dev/gateway-controller';

export interface TranslateResult {
  readonly table: RoutingTableContent;
  /** Sorted by statusKey(ref). */
  readonly statuses: readonly ObjectStatus[];
}

export function translate(_snapshot: Snapshot, _options: TranslateOptions): TranslateResult {
  throw new Error('not implemented yet');
}

/**
 * GatewayClass step: ours iff spec.controllerName matches; other controllers' classes get no status.
 */
import type { Snapshot } from '../../shared/resources.js';
import { Reason } from '../../shared/status.js';
import { condition, type StatusBook } from './conditions.js';
import { sortByAge } from './order.js';

export function translateGatewayClasses(snapshot: Snapshot, controllerName: string, book: StatusBook): void {
  for (const cls of sortByAge(snapshot.GatewayClass)) {
    if (cls.spec.controllerName !== controllerName) continue;
    const accepted = condition(
      'Accepted',
      true,
      Reason.Accepted,
      `GatewayClass accepted by ${controllerName}`,
      cls.metadata.generation,
    );
    book.set('GatewayClass', cls.metadata, { conditions: [accepted] });
  }
}

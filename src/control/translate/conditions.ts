/**
 * Conditions and the status book: steps record what they decide here instead of throwing.
 */
import { kindKey } from '../../shared/object-key.js';
import type { KindName, ObjectMeta } from '../../shared/resources.js';
import type { Condition, ObjectStatus, ReasonName } from '../../shared/status.js';
import { compareStrings } from './order.js';

export function condition(
  type: string,
  ok: boolean,
  reason: ReasonName,
  message: string,
  generation: number | undefined,
): Condition {
  return {
    type,
    status: ok ? 'True' : 'False',
    reason,
    message,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
}

/** Collects one status per object; `list()` is sorted by kindKey so output never depends on input order. */
export class StatusBook {
  readonly #statuses = new Map<string, ObjectStatus>();

  set(kind: KindName, meta: ObjectMeta, status: Readonly<Record<string, unknown>>): void {
    const ref = { kind, name: meta.name, ...(meta.namespace ? { namespace: meta.namespace } : {}) };
    const entry: ObjectStatus = {
      ref,
      ...(meta.generation === undefined ? {} : { generation: meta.generation }),
      status,
    };
    this.#statuses.set(kindKey(kind, meta.namespace, meta.name), entry);
  }

  list(): ObjectStatus[] {
    return [...this.#statuses.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, status]) => status);
  }
}

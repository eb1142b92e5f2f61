/**
 * The two ways a status reaches the API server:
 * - a status we own outright (GatewayClass, Gateway, Backend, AgentgatewayBackend): one merge patch on
 *   `/status`;
 * - HTTPRoute, whose `status.parents` is shared with other controllers and has no list-map merge
 *   semantics: read-modify-write with the object's resourceVersion, re-read and retry on 409.
 */
import { type CustomObjectsApi, PatchStrategy } from '@kubernetes/client-node';
import { KINDS } from '../../shared/resources.js';
import type { ObjectRef } from '../../shared/status.js';
import { apiFailure, sleep, timedCall } from './api-call.js';
import {
  canonical,
  mergeRouteParents,
  ownedStatusPatch,
  type SharedList,
  stampTransitions,
} from './stamp.js';

type JsonRecord = Record<string, unknown>;

export interface WriteContext {
  readonly api: CustomObjectsApi;
  readonly controllerName: string;
  readonly requestTimeoutMs: number;
  /** Total PUT attempts per round for a route when the API server keeps answering 409. */
  readonly conflictAttempts: number;
  readonly conflictBackoffMs: number;
  /** metav1.Time for a new lastTransitionTime. */
  readonly now: () => string;
  /** Checked before every request: a replica that lost the Lease must not write. */
  readonly allowed: () => boolean;
  readonly onConflict: () => void;
}

export type WriteOutcome =
  /** Written; `status` and `rv` are what the server answered, `baseRv` the version we wrote over. */
  | { readonly kind: 'written'; readonly status: unknown; readonly baseRv: string; readonly rv: string }
  | { readonly kind: 'unchanged' }
  /** Leadership was lost before the write went out. */
  | { readonly kind: 'aborted' };

/** A route's parents entries kept changing under us for every attempt of this round. */
export class ConflictsExhausted extends Error {
  override name = 'ConflictsExhausted';
}

function coordinates(ref: ObjectRef) {
  const info = KINDS[ref.kind];
  return { group: info.group, version: info.version, plural: info.plural, name: ref.name };
}

function resourceVersionOf(object: unknown): string {
  const meta = (object as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata;
  return typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : '';
}

/**
 * Merge-patch a status we own. `observed` is the freshest status we know (store or our last write);
 * the patch also nulls keys we no longer produce.
 */
export async function writeOwnedStatus(
  ctx: WriteContext,
  ref: ObjectRef,
  desired: JsonRecord,
  observed: unknown,
  baseRv: string,
): Promise<WriteOutcome> {
  const stamped = stampTransitions(desired, observed, ctx.now()) as JsonRecord;
  if (canonical(stamped) === canonical(observed ?? {})) return { kind: 'unchanged' };
  if (!ctx.allowed()) return { kind: 'aborted' };
  const body = { status: ownedStatusPatch(stamped, observed) };
  const answer: unknown = await timedCall(
    ctx.requestTimeoutMs,
    (options) =>
      ref.namespace
        ? ctx.api.patchNamespacedCustomObjectStatus(
            { ...coordinates(ref), namespace: ref.namespace, body },
            options,
          )
        : ctx.api.patchClusterCustomObjectStatus({ ...coordinates(ref), body }, options),
    { contentType: PatchStrategy.MergePatch },
  );
  return { kind: 'written', status: (answer as JsonRecord).status, baseRv, rv: resourceVersionOf(answer) };
}

/**
 * Replace our entries in a route's `status.parents`, keeping everyone else's. A cheap check against the
 * observed status (from the store) first, so an unchanged route costs no request at all.
 */
export async function writeRouteParents(
  ctx: WriteContext,
  ref: ObjectRef,
  desiredOurs: readonly unknown[],
  observed: unknown,
  field: SharedList = 'parents',
): Promise<WriteOutcome> {
  if (mergeRouteParents(observed, desiredOurs, ctx.controllerName, ctx.now(), field).unchanged) {
    return { kind: 'unchanged' };
  }
  const namespace = ref.namespace ?? '';
  const where = { ...coordinates(ref), namespace };
  for (let attempt = 0; attempt < ctx.conflictAttempts; attempt++) {
    if (attempt > 0) await sleep(ctx.conflictBackoffMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
    if (!ctx.allowed()) return { kind: 'aborted' };
    const fresh = (await timedCall(ctx.requestTimeoutMs, (options) =>
      ctx.api.getNamespacedCustomObjectStatus(where, options),
    )) as JsonRecord;
    const merged = mergeRouteParents(fresh.status, desiredOurs, ctx.controllerName, ctx.now(), field);
    if (merged.unchanged) return { kind: 'unchanged' };
    if (!ctx.allowed()) return { kind: 'aborted' };
    const baseRv = resourceVersionOf(fresh);
    try {
      // The whole object as read, new status: its metadata.resourceVersion is the precondition.
      const answer: unknown = await timedCall(ctx.requestTimeoutMs, (options) =>
        ctx.api.replaceNamespacedCustomObjectStatus(
          { ...where, body: { ...fresh, status: merged.status } },
          options,
        ),
      );
      return {
        kind: 'written',
        status: (answer as JsonRecord).status,
        baseRv,
        rv: resourceVersionOf(answer),
      };
    } catch (err) {
      if (apiFailure(err).code !== 409) throw err;
      ctx.onConflict();
    }
  }
  throw new ConflictsExhausted(`still conflicting after ${ctx.conflictAttempts} attempts`);
}

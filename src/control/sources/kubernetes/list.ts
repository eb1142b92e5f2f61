/**
 * The list half of a reflector: paginated (limit + continue) through the generated clients, restarted
 * from page 1 when a continue token expires, abortable through a request middleware.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import type { KindInfo } from '../../../shared/resources.js';
import { type KubeError, toKubeError } from './errors.js';

export const PAGE_SIZE = 500;
const CONTINUE_RESTARTS = 3;

export interface ListResult {
  items: unknown[];
  resourceVersion: string;
}

interface Page {
  items?: unknown[];
  metadata?: { resourceVersion?: string; continue?: string; _continue?: string };
}

type PageFetcher = (
  params: { limit: number; _continue?: string; labelSelector?: string },
  options: { middleware: ObservableMiddleware[]; middlewareMergeStrategy: 'append' },
) => Promise<Page>;

/** The collection path for the watch, the same one the list call hits. */
export function collectionPath(info: KindInfo<unknown>): string {
  return info.group ? `/apis/${info.group}/${info.version}/${info.plural}` : `/api/${info.version}/${info.plural}`;
}

/** A page fetcher for a kind: typed CoreV1Api for core kinds, CustomObjectsApi for every `/apis` group. */
export function pageFetcher(kc: KubeConfig, info: KindInfo<unknown>): PageFetcher {
  if (info.group) {
    const co = kc.makeApiClient(CustomObjectsApi);
    const { group, version, plural } = info;
    return (params, options) => co.listClusterCustomObject({ group, version, plural, ...params }, options);
  }
  const core = kc.makeApiClient(CoreV1Api);
  if (info.kind === 'Service') return (params, options) => core.listServiceForAllNamespaces(params, options);
  if (info.kind === 'Namespace') return (params, options) => core.listNamespace(params, options);
  throw new Error(`no list call for core kind ${info.kind}`);
}

/** A middleware that attaches an AbortSignal, so stop() and the list timeout can cut the request. */
function signalMiddleware(signal: AbortSignal): ObservableMiddleware {
  return {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (ctx: ResponseContext) => new Observable(Promise.resolve(ctx)),
  };
}

export type ListOutcome = { ok: true; result: ListResult } | { ok: false; error: KubeError };

/** List every page over one snapshot. A 410 on a continue token restarts from page 1 (a few times). */
export async function listAll(
  fetchPage: PageFetcher,
  signal: AbortSignal,
  labelSelector?: string,
): Promise<ListOutcome> {
  const options = { middleware: [signalMiddleware(signal)], middlewareMergeStrategy: 'append' as const };
  let restarts = 0;
  for (;;) {
    const items: unknown[] = [];
    let token: string | undefined;
    let resourceVersion = '';
    try {
      do {
        const page = await fetchPage({ limit: PAGE_SIZE, _continue: token, labelSelector }, options);
        items.push(...(page.items ?? []));
        resourceVersion = page.metadata?.resourceVersion ?? '';
        token = page.metadata?.continue ?? page.metadata?._continue ?? undefined;
      } while (token);
      return { ok: true, result: { items, resourceVersion } };
    } catch (err) {
      const error = toKubeError(err);
      if (error.status === 410 && token && restarts++ < CONTINUE_RESTARTS) continue;
      return { ok: false, error };
    }
  }
}

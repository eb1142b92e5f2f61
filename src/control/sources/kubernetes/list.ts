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
  ResponseContext,
} from '@kubernetes/client-node';
import type { KindInfo } from '../../../shared/resources.js';
import { type KubeError, toKubeError } from './errors.js';

const CONTINUE_RESTARTS = 3;

export interface ListResult {
  items: unknown[];
  resourceVersion: string;
}

interface Page {
  items?: unknown[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** Fetches one page; the body is read from the raw response (see rawMiddleware), not the typed result. */
type PageFetcher = (
  params: { limit: number; _continue?: string; labelSelector?: string },
  options: { middleware: ObservableMiddleware[]; middlewareMergeStrategy: 'append' },
) => Promise<unknown>;

/** The collection path for the watch, the same one the list call hits. */
export function collectionPath(info: KindInfo<unknown>): string {
  return info.group
    ? `/apis/${info.group}/${info.version}/${info.plural}`
    : `/api/${info.version}/${info.plural}`;
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
  if (info.kind === 'Secret') return (params, options) => core.listSecretForAllNamespaces(params, options);
  throw new Error(`no list call for core kind ${info.kind}`);
}

/**
 * Request middleware: attaches the AbortSignal (stop() and the list timeout cut the request) and keeps
 * the raw response text. Typed clients turn timestamps into Dates and drop unknown fields, so a listed
 * object would differ from the same object seen by the watch; the raw JSON does not.
 */
function rawMiddleware(signal: AbortSignal, sink: { text?: string }): ObservableMiddleware {
  return {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (ctx: ResponseContext) =>
      new Observable(
        ctx.body.text().then((text) => {
          sink.text = text;
          const body = { text: async () => text, binary: async () => Buffer.from(text) };
          return new ResponseContext(ctx.httpStatusCode, ctx.headers, body);
        }),
      ),
  };
}

export type ListOutcome = { ok: true; result: ListResult } | { ok: false; error: KubeError };

/** List every page over one snapshot. A 410 on a continue token restarts from page 1 (a few times). */
export async function listAll(
  fetchPage: PageFetcher,
  signal: AbortSignal,
  pageSize: number,
  labelSelector?: string,
): Promise<ListOutcome> {
  const sink: { text?: string } = {};
  const options = { middleware: [rawMiddleware(signal, sink)], middlewareMergeStrategy: 'append' as const };
  let restarts = 0;
  for (;;) {
    const items: unknown[] = [];
    let token: string | undefined;
    let resourceVersion = '';
    try {
      do {
        sink.text = undefined;
        await fetchPage({ limit: pageSize, _continue: token, labelSelector }, options);
        const page = JSON.parse(sink.text ?? '{}') as Page;
        items.push(...(page.items ?? []));
        resourceVersion = page.metadata?.resourceVersion ?? '';
        token = page.metadata?.continue || undefined;
      } while (token);
      return { ok: true, result: { items, resourceVersion } };
    } catch (err) {
      const error = toKubeError(err);
      if (error.status === 410 && token && restarts++ < CONTINUE_RESTARTS) continue;
      return { ok: false, error };
    }
  }
}

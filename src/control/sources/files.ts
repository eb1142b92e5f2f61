/**
 * The file source (standalone mode): Kubernetes-style YAML from a file or a folder, reloaded on change.
 *
 * A reload is all or nothing: if any document is invalid, every problem is reported (file, document,
 * kind, namespace/name, field path) and the store keeps the last good set, so the last good routing
 * table keeps serving.
 */
import { type FSWatcher, watch as fsWatch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import { kindKey } from '../../shared/object-key.js';
import { KIND_NAMES, type KindName, type ResourceByKind } from '../../shared/resources.js';
import { type ParsedResource, parseResource } from './parse.js';
import type { ResourceStore } from './store.js';

export interface LoadResult {
  readonly resources: ParsedResource[];
  readonly problems: string[];
  readonly files: string[];
}

async function listFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && !e.name.startsWith('.'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Parse every document of one file. `kind: List` documents are flattened (kubectl output). */
export function parseManifestText(
  text: string,
  file: string,
): { resources: ParsedResource[]; problems: string[] } {
  const resources: ParsedResource[] = [];
  const problems: string[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true });
  for (const [index, doc] of docs.entries()) {
    const where = `${file} (document ${index + 1})`;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) problems.push(`${where}: invalid YAML: ${err.message.split('\n')[0]}`);
      continue;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue; // empty document, e.g. a trailing `---`
    const items =
      (value as { kind?: unknown }).kind === 'List'
        ? ((value as { items?: unknown[] }).items ?? [])
        : [value];
    for (const item of items) {
      const result = parseResource(item);
      if (result.ok) resources.push(result.resource);
      else for (const problem of result.problems) problems.push(`${where}: ${result.id}: ${problem}`);
    }
  }
  return { resources, problems };
}

/** Read and validate everything under `path`. Pure apart from reading the files. */
export async function loadManifests(path: string): Promise<LoadResult> {
  let files: string[];
  try {
    files = await listFiles(path);
  } catch (err) {
    return { resources: [], problems: [`${path}: ${(err as Error).message}`], files: [] };
  }
  const resources: ParsedResource[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch((err: Error) => {
      problems.push(`${file}: ${err.message}`);
      return '';
    });
    const parsed = parseManifestText(text, file);
    problems.push(...parsed.problems);
    for (const r of parsed.resources) {
      const { namespace, name } = r.object.metadata;
      const key = kindKey(r.kind, namespace, name);
      const first = seen.get(key);
      if (first) {
        // The message keeps its wording: `Kind/namespace/name`, `Kind//name` for a cluster-scoped kind.
        problems.push(`${file}: ${r.kind}/${namespace ?? ''}/${name} is defined twice (first in ${first})`);
      } else seen.set(key, file);
      resources.push(r);
    }
  }
  return { resources, problems, files };
}

export interface FileSourceOptions {
  readonly path: string;
  readonly store: ResourceStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Fallback poll interval: editors that replace files can defeat fs.watch. */
  readonly pollMs?: number;
}

export class FileSource {
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #signature = '';
  #reloading: Promise<void> = Promise.resolve();
  #pending: NodeJS.Timeout | undefined;
  #loadedOnce = false;

  constructor(private readonly options: FileSourceOptions) {}

  /** True once a valid set of manifests has been applied to the store. */
  get synced(): boolean {
    return this.#loadedOnce;
  }

  async start(): Promise<void> {
    await this.reload();
    try {
      this.#watcher = fsWatch(this.options.path, { recursive: true }, () => this.#schedule());
      this.#watcher.on('error', () => undefined); // the poll below keeps working
    } catch {
      // watching is an optimisation; polling covers platforms and paths where it fails
    }
    this.#poll = setInterval(() => void this.#checkSignature(), this.options.pollMs ?? 1000);
    this.#poll.unref();
  }

  stop(): void {
    this.#watcher?.close();
    clearInterval(this.#poll);
    clearTimeout(this.#pending);
  }

  /** Load everything and apply it to the store, unless something is invalid. */
  reload(): Promise<void> {
    this.#reloading = this.#reloading.then(() => this.#reload());
    return this.#reloading;
  }

  #schedule(): void {
    clearTimeout(this.#pending);
    this.#pending = setTimeout(() => void this.reload(), 50);
  }

  async #checkSignature(): Promise<void> {
    const signature = await this.#computeSignature();
    if (signature !== this.#signature) this.#schedule();
  }

  async #computeSignature(): Promise<string> {
    try {
      const files = await listFiles(this.options.path);
      const stats = await Promise.all(files.map(async (f) => `${f}:${(await stat(f)).mtimeMs}`));
      return stats.join('|');
    } catch (err) {
      return `error:${(err as Error).message}`;
    }
  }

  async #reload(): Promise<void> {
    const { path, store, logger, metrics } = this.options;
    this.#signature = await this.#computeSignature();
    const { resources, problems, files } = await loadManifests(path);
    if (problems.length > 0) {
      metrics.sourceErrors.inc({ source: 'files' }, problems.length);
      logger.error(
        { problems, path },
        `manifests not applied: ${problems.length} problem(s); the last good configuration keeps serving`,
      );
      return;
    }
    const byKind = new Map<KindName, ResourceByKind[KindName][]>(KIND_NAMES.map((k) => [k, []]));
    for (const r of resources) byKind.get(r.kind)!.push(r.object);
    for (const kind of KIND_NAMES) {
      store.replace(kind, byKind.get(kind)! as ResourceByKind[typeof kind][]);
      metrics.objects.set({ kind }, store.count(kind));
    }
    this.#loadedOnce = true;
    logger.info({ path, files: files.length, objects: resources.length }, 'manifests loaded');
  }
}

/**
 * Golden fixtures for translate(): multi-document YAML → a Snapshot + TranslateOptions.
 *
 * Every object goes through parseResource (the same boundary the sources use), so a misspelt field in
 * an MCP block fails the fixture. Options live in the fixture as a `test.mcplane.dev/v1`
 * `TranslateOptions` document (or in the topic's `_base.yaml`), never in a table in test code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { z } from 'zod';
import { parseResource } from '../../src/control/sources/parse.js';
import {
  DEFAULT_CONTROLLER_NAME,
  type TranslateOptions,
  type TranslateResult,
} from '../../src/control/translate/index.js';
import { kindKey } from '../../src/shared/object-key.js';
import { emptySnapshot, type KindName, type Snapshot } from '../../src/shared/resources.js';

export const GOLDEN_DIR = new URL('./translate/', import.meta.url).pathname;

const optionsDocSchema = z.strictObject({
  apiVersion: z.literal('test.mcplane.dev/v1'),
  kind: z.literal('TranslateOptions'),
  controllerName: z.string().min(1).optional(),
  clusterDomain: z.string().min(1).optional(),
  gatewayAddresses: z.array(z.string().min(1)).optional(),
});

export interface Fixture {
  readonly snapshot: Snapshot;
  readonly options: TranslateOptions;
}

/** Parse YAML texts in order (base first); a later object with the same kind and key replaces an earlier one. */
export function loadFixture(texts: readonly { name: string; text: string }[]): Fixture {
  const objects = new Map<string, { kind: KindName; object: unknown }>();
  let options: TranslateOptions = { controllerName: DEFAULT_CONTROLLER_NAME, clusterDomain: 'cluster.local' };
  for (const { name, text } of texts) {
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${name}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const raw = doc.toJS() as unknown;
      if (raw === null || raw === undefined) continue;
      if ((raw as { kind?: unknown }).kind === 'TranslateOptions') {
        const parsed = optionsDocSchema.safeParse(raw);
        if (!parsed.success) throw new Error(`${name}: bad TranslateOptions: ${parsed.error.message}`);
        const { apiVersion: _a, kind: _k, ...rest } = parsed.data;
        options = { ...options, ...rest };
        continue;
      }
      const result = parseResource(raw);
      if (!result.ok) throw new Error(`${name}: ${result.id}: ${result.problems.join('; ')}`);
      const { kind, object } = result.resource;
      objects.set(kindKey(kind, object.metadata.namespace, object.metadata.name), { kind, object });
    }
  }
  const snapshot = emptySnapshot() as Record<KindName, unknown[]>;
  for (const { kind, object } of objects.values()) snapshot[kind].push(object);
  return { snapshot: snapshot as unknown as Snapshot, options };
}

export interface GoldenCase {
  /** `<topic>/<case>`. */
  readonly name: string;
  readonly inPath: string;
  readonly outPath: string;
  readonly basePath?: string;
}

export function listCases(): { cases: GoldenCase[]; orphans: string[] } {
  const cases: GoldenCase[] = [];
  const orphans: string[] = [];
  for (const topic of readdirSync(GOLDEN_DIR).sort()) {
    const dir = join(GOLDEN_DIR, topic);
    const files = readdirSync(dir).sort();
    const basePath = files.includes('_base.yaml') ? join(dir, '_base.yaml') : undefined;
    for (const file of files) {
      if (file.endsWith('.in.yaml')) {
        const stem = file.slice(0, -'.in.yaml'.length);
        cases.push({
          name: `${topic}/${stem}`,
          inPath: join(dir, file),
          outPath: join(dir, `${stem}.out.yaml`),
          ...(basePath ? { basePath } : {}),
        });
      } else if (file.endsWith('.out.yaml') && !files.includes(file.replace(/\.out\.yaml$/, '.in.yaml'))) {
        orphans.push(`${topic}/${file}`);
      }
    }
  }
  return { cases, orphans };
}

export function loadCase(c: GoldenCase): Fixture {
  const texts = [];
  if (c.basePath) texts.push({ name: c.basePath, text: readFileSync(c.basePath, 'utf8') });
  texts.push({ name: c.inPath, text: readFileSync(c.inPath, 'utf8') });
  return loadFixture(texts);
}

export function renderResult(result: TranslateResult): string {
  return stringify(
    { table: result.table, statuses: result.statuses },
    { aliasDuplicateObjects: false, lineWidth: 0 },
  );
}

/** Every `reason` string anywhere in the statuses. */
export function reasonsIn(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) reasonsIn(v, found);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'reason' && typeof v === 'string') found.add(v);
      else reasonsIn(v, found);
    }
  }
  return found;
}

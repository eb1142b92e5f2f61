/**
 * Golden tests for translate(): `translate/<topic>/<case>.in.yaml` → `<case>.out.yaml`.
 * `UPDATE_GOLDEN=1` rewrites outputs; `GOLDEN_CASE=<topic/case or case>` runs one.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { translate } from '../../src/control/translate/index.js';
import { Reason } from '../../src/shared/status.js';
import { listCases, loadCase, reasonsIn, renderResult } from './fixtures.js';

const update = process.env.UPDATE_GOLDEN === '1';
const only = process.env.GOLDEN_CASE;
const { cases, orphans } = listCases();
const selected = cases.filter((c) => !only || c.name === only || c.name.endsWith(`/${only}`));
const known = new Set<string>(Object.values(Reason));

describe('translate golden files', () => {
  it('has an .in.yaml for every .out.yaml', () => {
    expect(orphans).toEqual([]);
  });

  it('selects at least one case', () => {
    expect(selected.length).toBeGreaterThan(0);
  });

  for (const c of selected) {
    it(c.name, () => {
      const { snapshot, options } = loadCase(c);
      const result = translate(snapshot, options);
      const unknownReasons = [...reasonsIn(result.statuses)].filter((r) => !known.has(r));
      expect(unknownReasons, 'every reason must be listed in Reason (src/shared/status.ts)').toEqual([]);
      const rendered = renderResult(result);
      if (update) {
        writeFileSync(c.outPath, rendered);
        return;
      }
      if (!existsSync(c.outPath))
        throw new Error(`${c.outPath} is missing: run with UPDATE_GOLDEN=1 and review it`);
      expect(rendered).toBe(readFileSync(c.outPath, 'utf8'));
    });
  }
});

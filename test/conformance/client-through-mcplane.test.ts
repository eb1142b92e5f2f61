/**
 * mcplane's upstream half judged by the conformance suite's client mode (0.2.0-alpha.12, issue 12):
 * for each scenario that applies to a gateway's hop, the suite starts its test server and runs
 * hop-client.ts, which puts mcplane in front of that server and drives an SDK v2 client through
 * it. The suite's checks are then about what mcplane sent: the handshake, per-request `_meta` and
 * `MCP-Protocol-Version`, `Mcp-Method` / `Mcp-Name` / `Mcp-Param-*` headers, `requestState`
 * handling, schemas kept intact.
 *
 * Every scenario runs with a 2025 client and with a 2026-07-28 client in front, and with the suite's
 * server as the backend's only target and beside a 2025 fixture (names prefixed, so mcplane
 * de-prefixes what it sends). The scenarios of both revisions run at their own revision; those of
 * both (tools_call, json-schema-2020-12-preservation) run at each.
 */
import { describe, expect, it } from 'vitest';
import { type Revision, runClientScenario, type ScenarioResult } from '../support/conformance.js';
import { ROOT } from '../support/process.js';

const SCENARIOS: ReadonlyArray<readonly [string, Revision]> = [
  ['initialize', '2025-11-25'],
  ['tools_call', '2025-11-25'],
  ['tools_call', '2026-07-28'],
  ['json-schema-2020-12-preservation', '2025-11-25'],
  ['json-schema-2020-12-preservation', '2026-07-28'],
  ['request-metadata', '2026-07-28'],
  ['http-standard-headers', '2026-07-28'],
  ['http-custom-headers', '2026-07-28'],
  ['sep-2322-client-request-state', '2026-07-28'],
];
const CLIENTS = ['2025', '2026'] as const;
const LAYOUTS = ['single', 'mixed'] as const;

/** Suite runs at once: each is the suite, a scenario server, and a process with mcplane and a client. */
const PARALLEL = 3;

const COMMAND = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(`${ROOT}test/conformance/hop-client.ts`)}`;

interface Case {
  readonly scenario: string;
  readonly revision: Revision;
  readonly client: (typeof CLIENTS)[number];
  readonly layout: (typeof LAYOUTS)[number];
}

const cases: Case[] = SCENARIOS.flatMap(([scenario, revision]) =>
  CLIENTS.flatMap((client) => LAYOUTS.map((layout) => ({ scenario, revision, client, layout }))),
);
const label = (c: Case) => `${c.scenario} @${c.revision}, ${c.client} client, ${c.layout}`;

/** All cases, PARALLEL at a time, started once for the whole file. */
const results = (() => {
  let all: Promise<Map<string, ScenarioResult>> | undefined;
  return () => {
    all ??= (async () => {
      const done = new Map<string, ScenarioResult>();
      const queue = [...cases];
      const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const result = await runClientScenario(COMMAND, next.scenario, next.revision, {
            MCPLANE_HOP_CLIENT: next.client,
            MCPLANE_HOP_LAYOUT: next.layout,
          });
          done.set(label(next), result);
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
      return done;
    })();
    return all;
  };
})();

describe('the conformance suite in client mode, with mcplane as the client under test', () => {
  it.each(cases.map((c) => [label(c)]))(
    '%s: every check passes',
    async (name) => {
      const result = (await results()).get(name);
      expect(result, 'the scenario ran').toBeDefined();
      // At least one scored check: a scenario whose client never reached the server scores none.
      expect(result!.checks.some((check) => check.endsWith('=SUCCESS'))).toBe(true);
      expect({ outcome: result!.outcome, error: result!.error }).toEqual({
        outcome: 'SUCCESS',
        error: undefined,
      });
    },
    600_000,
  );
});

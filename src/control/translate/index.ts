/**
 * translate(snapshot) → { table, statuses }: pure, deterministic, whole-world (docs/design.md section 1).
 * No I/O, no clocks, no globals. Golden tests in test/golden/translate pin its behaviour.
 *
 * Every step reads the snapshot through `World`, where each kind is already sorted by
 * (creationTimestamp, namespace, name): all conflict resolution is "oldest wins".
 */
import type { Snapshot } from '../../shared/resources.js';
import { McpBackends } from './backends/index.js';
import { StatusBook } from './conditions.js';
import { translateGatewayClasses } from './gateway-classes.js';
import { writeGatewayStatuses } from './gateway-status.js';
import { translateGateways } from './gateways.js';
import { buildTable } from './listeners.js';
import type { TranslateOptions, TranslateResult } from './options.js';
import { attachPolicies } from './policies/index.js';
import { translateRoutes } from './routes.js';
import { buildWorld } from './world.js';

export { DEFAULT_CONTROLLER_NAME, type TranslateOptions, type TranslateResult } from './options.js';

export function translate(snapshot: Snapshot, options: TranslateOptions): TranslateResult {
  const world = buildWorld(snapshot, options);
  const book = new StatusBook();
  // 1. Classes decide which Gateways are ours (World.ourClasses); they only need their own status.
  translateGatewayClasses(snapshot, options.controllerName, book);
  // 2. Listeners: protocol, route kinds, port/hostname conflicts. Routes attach only to served ones.
  const gateways = translateGateways(world);
  // 3. MCP backends are built on first reference (memoised), so status goes only to backends we serve.
  const backends = new McpBackends(world);
  // 4. Routes: attachment, backendRefs → actions, entries per port. Must run after 2 and before 5/6.
  const routes = translateRoutes(world, gateways, backends, book);
  // 5. Gateway status needs attachedRoutes from step 4; backend status needs the references from step 4.
  writeGatewayStatuses(gateways, routes.attachedRoutes, options.gatewayAddresses ?? [], book);
  backends.writeStatuses(book);
  // 6. AgentgatewayPolicies: validated, statused, and merged onto the route entries they reach.
  const entriesByPort = attachPolicies(world, routes.entriesByPort, book);
  // 7. The table: one listener per served port, routes in Gateway API precedence order.
  const table = buildTable(gateways, entriesByPort);
  return { table, statuses: book.list() };
}

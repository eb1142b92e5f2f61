/**
 * The `method` label of metrics (and the request log): a method a client sends can be any string,
 * and prom-client keeps every series it ever saw, so only the MCP methods a client sends become a
 * label; anything else is `other`. The entry (service.ts) and the hop layer (upstream calls) both
 * label through methodLabel().
 */
/** The requests a client may send (2025 revisions). */
export const REQUEST_METHODS = [
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'tasks/list',
  'tasks/get',
  'tasks/result',
  'tasks/cancel',
] as const;

/** The notifications a client may send. */
export const NOTIFICATION_METHODS = [
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
] as const;

export const KNOWN_METHODS: ReadonlySet<string> = new Set([...REQUEST_METHODS, ...NOTIFICATION_METHODS]);

/** The label of a client's JSON-RPC response (its answer to a server request). */
export const RESPONSE_LABEL = 'response';

export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) || method === RESPONSE_LABEL ? method : 'other';
}

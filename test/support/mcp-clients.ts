/**
 * Real SDK clients for proxy tests that speak a chosen protocol revision and answer server
 * requests. The SDK client always asks for its latest revision; an older client is the same client
 * whose initialize asks for the older one (the SDK then uses whatever the server granted).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js';

export const VERSIONS = ['2025-03-26', '2025-06-18', '2025-11-25'] as const;
export type Version = (typeof VERSIONS)[number];

/** A fetch that rewrites the protocolVersion of initialize requests. */
function fetchAsking(version: string): typeof fetch {
  return (input, init) => {
    const body = init?.body;
    if (typeof body === 'string' && body.includes('"initialize"')) {
      const message = JSON.parse(body) as { method?: string; params?: { protocolVersion?: string } };
      if (message.method === 'initialize' && message.params) {
        message.params.protocolVersion = version;
        return fetch(input, { ...init, body: JSON.stringify(message) });
      }
    }
    return fetch(input, init);
  };
}

export interface FeatureClient {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  /** Every server request the client answered, as `<method> <id>`. */
  readonly served: string[];
  /** Notifications received (logging, resource updates, ...). */
  readonly notifications: ServerNotification[];
}

/** A client with sampling, elicitation and roots, answering each request with text naming it. */
export async function connectFeatureClient(
  url: string,
  version: Version = '2025-11-25',
): Promise<FeatureClient> {
  const client = new Client(
    { name: 'feature-client', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } } },
  );
  const served: string[] = [];
  const notifications: ServerNotification[] = [];
  client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => {
    served.push(`sampling/createMessage ${String(extra.requestId)}`);
    const question = request.params.messages[0]?.content;
    const text = question && 'text' in question ? question.text : '?';
    return { role: 'assistant', model: 'test-model', content: { type: 'text', text: `answer to ${text}` } };
  });
  client.setRequestHandler(ElicitRequestSchema, (request, extra) => {
    served.push(`elicitation/create ${String(extra.requestId)}`);
    const asker = request.params.message.split(' ')[0];
    return { action: 'accept', content: { who: `client-of-${asker}` } };
  });
  client.setRequestHandler(ListRootsRequestSchema, (_request, extra) => {
    served.push(`roots/list ${String(extra.requestId)}`);
    return { roots: [{ uri: 'file:///work', name: 'work' }] };
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    notifications.push(n);
  });
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: fetchAsking(version) });
  await client.connect(transport);
  return { client, transport, served, notifications };
}

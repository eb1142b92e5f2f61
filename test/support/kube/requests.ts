/** Request plumbing for the test API server: the verb of a request, and its JSON body. */
import type { IncomingMessage } from 'node:http';
import type { Verb } from './faults.js';
import type { ResourcePath } from './kinds.js';
import { ApiError, isObject, type JsonObject } from './status.js';

export function verbOf(method: string, route: ResourcePath, query: URLSearchParams): Verb {
  const collection = route.name === undefined;
  switch (method) {
    case 'GET':
      if (!collection) return 'get';
      return ['true', '1'].includes(query.get('watch') ?? '') ? 'watch' : 'list';
    case 'POST':
      if (collection) return 'create';
      break;
    case 'PUT':
      if (!collection) return 'update';
      break;
    case 'PATCH':
      if (!collection) return 'patch';
      break;
    case 'DELETE':
      if (!collection) return 'delete';
      break;
  }
  throw new ApiError(405, `${method} is not supported on ${collection ? 'a collection' : 'an object'}`);
}

export function objectBody(body: unknown): JsonObject {
  if (!isObject(body)) throw new ApiError(400, 'the request body must be a JSON object');
  return body;
}

export async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, `the request body is not valid JSON: ${text.slice(0, 80)}`);
  }
}

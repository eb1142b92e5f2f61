/**
 * A 2025 client's call to a 2026-07-28 target that answers `input_required` (issue 12). The 2025
 * client cannot retry with `inputResponses`; it answers server→client requests instead. So the
 * gateway asks it each input request as a request on the call's SSE answer, waits for the client's
 * responses (POSTed on its session, mux/notify.ts), and retries the call upstream with
 * `inputResponses` and the target's `requestState` — round after round — until the target answers
 * `complete`, which the client gets under its own request id.
 */
import type { McpTarget } from '../../../shared/table.js';
import { acceptedUnanswered, endedUnanswered } from '../../upstream/errors.js';
import { parseJson, sseMessages } from '../../upstream/read.js';
import type { Rewrite } from '../rewrite/outbound.js';
import type { TargetSession } from '../session/session.js';
import { JsonRpcCode, RpcError } from '../wire/errors.js';
import {
  asObject,
  isResponse,
  type JsonObject,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../wire/jsonrpc.js';
import type { SessionContext } from './context.js';
import { postToTarget } from './targets.js';

/** Rounds one call may take, and input requests one round may carry: bounds on what a target can make us ask. */
const MAX_ROUNDS = 8;
const MAX_INPUTS = 16;
/** How long the gateway waits for the client to answer one input request. */
export const INPUT_WAIT_MS = 300_000;

/** The methods a 2026-07-28 target may answer `input_required`. */
export const ROUND_TRIP_METHODS: ReadonlySet<string> = new Set([
  'tools/call',
  'prompts/get',
  'resources/read',
]);

let asked = 0;

export async function runRounds(
  cx: SessionContext,
  target: McpTarget,
  state: TargetSession,
  body: string,
  id: JsonRpcId,
  send: (message: unknown) => boolean,
  rewrite: Rewrite,
): Promise<void> {
  let request = JSON.parse(body) as JsonRpcRequest;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const response = await call(cx, target, state, request, send, rewrite);
    const result = asObject(response.result);
    if (result?.resultType !== 'input_required') {
      send(rewrite({ ...response, id }));
      return;
    }
    const entries = Object.entries(asObject(result.inputRequests) ?? {}).slice(0, MAX_INPUTS);
    const answers = await Promise.all(entries.map(([key, input]) => ask(cx, key, input, send)));
    const inputResponses = Object.fromEntries(
      answers.filter((a): a is [string, JsonObject] => a !== undefined),
    );
    const params: JsonObject = { ...request.params, inputResponses };
    if (typeof result.requestState === 'string') params.requestState = result.requestState;
    else delete params.requestState;
    request = { ...request, id: `${String(id).slice(0, 100)}.round-${round + 1}`, params };
  }
  throw new RpcError(
    JsonRpcCode.UpstreamUnavailable,
    `target "${target.name}" asked for input more than ${MAX_ROUNDS} times in one call`,
  );
}

/** One round upstream: notifications (progress) reach the client; the response is returned. */
async function call(
  cx: SessionContext,
  target: McpTarget,
  state: TargetSession,
  request: JsonRpcRequest,
  send: (message: unknown) => boolean,
  rewrite: Rewrite,
): Promise<JsonRpcResponse> {
  const reply = await postToTarget(cx, target, state, request.method, JSON.stringify(request), cx.signal);
  if (reply.kind === 'accepted') throw acceptedUnanswered(target.name);
  if (reply.kind === 'json') {
    const message = parseJson(reply.body, target.name);
    if (isResponse(message)) return message;
    throw endedUnanswered(target.name);
  }
  if (reply.kind === 'json-stream') {
    reply.body.destroy();
    throw endedUnanswered(target.name);
  }
  for await (const message of sseMessages(reply.body, target.name)) {
    if (isResponse(message) && message.id === request.id) return message;
    send(rewrite(message));
  }
  throw endedUnanswered(target.name);
}

/** Ask the client one input request; its result (undefined when it refused or failed to answer). */
function ask(
  cx: SessionContext,
  key: string,
  input: unknown,
  send: (message: unknown) => boolean,
): Promise<[string, JsonObject] | undefined> {
  const request = asObject(input);
  if (!request || typeof request.method !== 'string') return Promise.resolve(undefined);
  asked = (asked + 1) % Number.MAX_SAFE_INTEGER;
  const id = `mcplane-input-${asked}`;
  const { session, signal } = cx;
  return new Promise((resolve) => {
    const done = (answer: [string, JsonObject] | undefined) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', gone);
      session.forgetInput(id);
      resolve(answer);
    };
    const gone = () => done(undefined);
    const timer = setTimeout(gone, INPUT_WAIT_MS);
    timer.unref();
    signal.addEventListener('abort', gone, { once: true });
    session.waitForInput(id, (response) => {
      const result = asObject(response.result);
      done(result ? [key, result] : undefined);
    });
    if (!send({ jsonrpc: '2.0', id, method: request.method, params: asObject(request.params) ?? {} })) gone();
  });
}

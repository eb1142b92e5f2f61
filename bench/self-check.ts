/**
 * Negative controls, run before anything is measured: a load generator that never counted an error
 * would make every figure meaningless, so make it see errors on purpose and fail the run if it does not.
 */
import { echoOperation, findReply, type Operation, percentile, runLoad } from './load.js';
import { freePort } from './proc.js';
import { rssGrowth } from './scenarios.js';

function expect(ok: boolean, what: string, problems: string[]): void {
  if (!ok) problems.push(what);
}

/** Returns what is wrong with the harness (empty when it is sound). */
export async function selfCheck(upstreamUrl: string): Promise<string[]> {
  const problems: string[] = [];

  const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  expect(percentile(sorted, 50) === 50 && percentile(sorted, 99) === 99, 'percentile() is off', problems);

  // The flatness figure: a flat sawtooth (garbage collection) is flat, a steady climb is growth.
  const saw = Array.from({ length: 50 }, (_, i): [number, number] => [
    (i + 1) * 2000,
    150_000 + (i % 4) * 20_000,
  ]);
  const climb = Array.from({ length: 50 }, (_, i): [number, number] => [(i + 1) * 2000, 150_000 + i * 3_000]);
  expect(
    Math.abs(rssGrowth(saw, 100_000) ?? 1) < 0.05,
    'rssGrowth() sees growth in a flat sawtooth',
    problems,
  );
  expect((rssGrowth(climb, 100_000) ?? 0) > 0.1, 'rssGrowth() misses a steady climb', problems);

  const sse = 'event: message\nid: 7\ndata: {"jsonrpc":"2.0","id":3,\ndata: "result":{"ok":true}}\n\n';
  const fromSse = findReply(sse, 'text/event-stream', 3) as { result?: { ok?: boolean } } | undefined;
  expect(fromSse?.result?.ok === true, 'findReply() cannot read a multi-line SSE event', problems);
  const batch =
    '[{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":"x"}}]';
  expect(
    findReply(batch, 'application/json', 2)?.error?.code === -1,
    'findReply() misses a batch entry',
    problems,
  );

  // A correct answer judged wrong must count as an error, never as a call.
  const wrong: Operation = { ...echoOperation(), check: () => 'deliberately rejected' };
  const rejected = await runLoad({ url: upstreamUrl, concurrency: 2, operation: wrong, count: 20 });
  expect(
    rejected.calls === 0 && rejected.errors === 20,
    `wrong results not counted: ${JSON.stringify(rejected.problems)}`,
    problems,
  );

  // An unknown tool is a JSON-RPC error or an isError result: either way not a good echo.
  const unknown: Operation = { ...echoOperation(), params: () => ({ name: 'no_such_tool', arguments: {} }) };
  const failed = await runLoad({ url: upstreamUrl, concurrency: 1, operation: unknown, count: 5 });
  expect(
    failed.calls === 0 && failed.errors === 5,
    'calls to an unknown tool were counted as good',
    problems,
  );

  // The right answer counts.
  const good = await runLoad({ url: upstreamUrl, concurrency: 2, operation: echoOperation(), count: 20 });
  expect(
    good.calls === 20 && good.errors === 0,
    `good echo calls failed: ${good.problems.join('; ')}`,
    problems,
  );

  // Nobody listens: the session cannot even be opened.
  const closed = `http://127.0.0.1:${await freePort()}/mcp`;
  const refused = await runLoad({ url: closed, concurrency: 1, operation: echoOperation(), count: 1 }).then(
    () => false,
    () => true,
  );
  expect(refused, 'a closed port did not fail', problems);
  return problems;
}

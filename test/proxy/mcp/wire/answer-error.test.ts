import { describe, expect, it } from 'vitest';
import { answerErrorCode } from '../../../../src/proxy/mcp/wire/answer-error.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('answerErrorCode', () => {
  it('finds the code of an error answer, in any member order and spacing', () => {
    expect(answerErrorCode(bytes('{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"x"}}'))).toBe(
      -32602,
    );
    expect(
      answerErrorCode(bytes('{ "error" : { "message": "y", "code": -32603 }, "id": "a", "jsonrpc": "2.0" }')),
    ).toBe(-32603);
  });

  it('a result is not an error, whatever its content says', () => {
    expect(answerErrorCode(bytes('{"jsonrpc":"2.0","id":1,"result":{"error":{"code":1}}}'))).toBeUndefined();
    expect(
      answerErrorCode(bytes('{"result":{"content":[{"type":"text","text":"\\"error\\":"}]},"id":2}')),
    ).toBeUndefined();
    // An id that looks like a member name is a value, not a key.
    expect(answerErrorCode(bytes('{"id":"error","jsonrpc":"2.0","result":{}}'))).toBeUndefined();
    const big = `{"jsonrpc":"2.0","id":3,"result":{"text":"${'x'.repeat(100_000)}"}}`;
    expect(answerErrorCode(bytes(big))).toBeUndefined();
  });

  it('garbage is no answer; an error without a readable code is NaN', () => {
    expect(answerErrorCode(bytes('not json'))).toBeUndefined();
    expect(answerErrorCode(bytes('{"jsonrpc":"2.0","id":1,"err'))).toBeUndefined();
    expect(answerErrorCode(bytes('{"jsonrpc":"2.0","id":1,"error":{"message":"no code"}}'))).toBeNaN();
    expect(answerErrorCode(bytes('{"jsonrpc":"2.0","id":1,"error":{"code":-32602'))).toBeNaN();
  });
});

/**
 * A large JSON reply on the transparent path, forwarded as it arrives: the upstream's Readable as
 * the web stream the HTTP layer writes, with backpressure both ways. The client sees the upstream's
 * bytes and Content-Length; if the upstream breaks off mid-body the client's response breaks off
 * too (nothing else can be said once the status line is out).
 */
import type { Readable } from 'node:stream';

export function passThroughBytes(
  body: Readable,
  /** Called once: 'ok' when the body ended, 'error' when the upstream or the client broke off. */
  onClose: (outcome: 'ok' | 'error') => void,
): ReadableStream<Uint8Array> {
  let done = false;
  const finish = (outcome: 'ok' | 'error') => {
    if (done) return;
    done = true;
    onClose(outcome);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      body.on('data', (chunk: Buffer) => {
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) body.pause();
      });
      body.once('end', () => {
        controller.close();
        finish('ok');
      });
      body.once('error', (error) => {
        controller.error(error);
        finish('error');
      });
    },
    pull() {
      body.resume();
    },
    cancel() {
      body.destroy();
      finish('error');
    },
  });
}

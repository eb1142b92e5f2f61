/**
 * A child process for test/shared/log-stdout.test.ts: logs `count` lines of ~1 KiB through the
 * process logger's stdout stream in one synchronous loop (the stream cannot write in between), says
 * on stderr how many it dropped, then exits at once; whatever was buffered must still go out.
 *   node --import tsx test/support/log-flood.ts <count>
 */
import { createLogger, droppedLogLines } from '../../src/shared/logger.js';

const count = Number(process.argv[2] ?? '1000');
const logger = createLogger('info');
const filler = 'x'.repeat(1000);
for (let i = 0; i < count; i++) logger.info({ i, filler }, 'flood');
process.stderr.write(`${JSON.stringify({ dropped: droppedLogLines() })}\n`);
process.exit(0);

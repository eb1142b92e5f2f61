/**
 * Servers tests start (redis-server, prometheus) die with the test process even when it is killed
 * outright.
 */

/**
 * The shell between a test and a server it starts (`sh -c GUARD sh <binary> <args…>`): prints the server's
 * pid, kills it when our pipe on its stdin reaches end of file (stop(), or this process gone), and
 * exits when the server does (so a server that cannot start is seen at once).
 */
export const GUARD = [
  'b=$1; shift',
  'exec 3<&0',
  '"$b" "$@" </dev/null 3<&- & r=$!',
  'echo "$r"',
  '(read _ <&3; kill -9 "$r" 2>/dev/null) &',
  'w=$!',
  'exec 3<&-',
  'wait "$r"; s=$?',
  'kill "$w" 2>/dev/null',
  'exit "$s"',
].join('\n');

// Preload for servers that listen on every interface and have no host option (such as
// @modelcontextprotocol/server-everything): a listen(port) call without a host binds 127.0.0.1 instead.
// Usage: node --import ./examples/servers/loopback.mjs <server.js>
import net from 'node:net';

const listen = net.Server.prototype.listen;
// listen(port) without a host binds at once, and some servers read address() right after it;
// with a host it would bind a tick later. Node's own handle factory binds 127.0.0.1 at once too.
const bindNow = typeof net._createServerHandle === 'function' ? net._createServerHandle : undefined;

net.Server.prototype.listen = function (...args) {
  if ((typeof args[0] === 'number' || typeof args[0] === 'string') && typeof args[1] !== 'string') {
    const handle = typeof args[0] === 'number' ? bindNow?.('127.0.0.1', args[0], 4) : undefined;
    // A number is an errno (the port is taken, say): the usual path reports it as an 'error' event.
    if (handle && typeof handle === 'object') return listen.call(this, handle, ...args.slice(1));
    args.splice(1, 0, '127.0.0.1');
  } else if (args[0] && typeof args[0] === 'object' && !('host' in args[0]) && !('path' in args[0])) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};

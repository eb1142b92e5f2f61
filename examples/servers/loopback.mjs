// Preload for servers that listen on every interface and have no host option (such as
// @modelcontextprotocol/server-everything): a listen(port) call without a host binds 127.0.0.1 instead.
// Usage: node --import ./examples/servers/loopback.mjs <server.js>
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if ((typeof args[0] === 'number' || typeof args[0] === 'string') && typeof args[1] !== 'string') {
    args.splice(1, 0, '127.0.0.1');
  } else if (args[0] && typeof args[0] === 'object' && !('host' in args[0]) && !('path' in args[0])) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};

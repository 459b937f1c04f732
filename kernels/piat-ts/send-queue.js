/*
 * tslab 1.0.22 calls `socket.send()` without awaiting it, and zeromq >= 6.0 (what npm resolves for
 * tslab's `^6.0.0-beta.16`) rejects a send while another is in flight ("Socket is busy writing",
 * EBUSY), which kills the kernel when a cell prints quickly (training progress). Queueing each
 * socket's sends restores the ordering tslab assumed. The zeromq version tslab was built against
 * would avoid this, but its install script builds from source, which fails without internet.
 */
'use strict';

function queueSends(zmq) {
  // Socket.prototype.send is read-only, so the queued send is defined on each socket class tslab
  // uses. Sockets are sealed, so each one's queue lives in a WeakMap.
  const base = zmq.Socket.prototype.send;
  const queues = new WeakMap();
  function queuedSend(msg) {
    const run = () => base.call(this, msg);
    const next = (queues.get(this) || Promise.resolve()).then(run, run);
    queues.set(this, next.catch(() => undefined));
    return next;
  }
  for (const cls of [zmq.Publisher, zmq.Router, zmq.Reply, zmq.Dealer]) {
    Object.defineProperty(cls.prototype, 'send', { value: queuedSend, writable: true, configurable: true });
  }
}

module.exports = { queueSends };

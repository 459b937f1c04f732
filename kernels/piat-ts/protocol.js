/*
 * Replies the way Jupyter expects (messaging protocol 5.3) where tslab 1.0.22 does not:
 * - a failed cell sends an `error` message (ename, evalue, traceback) and an execute_reply with
 *   the same fields; tslab only printed the error to stderr, so frontends and nbclient showed no
 *   traceback and a report showed the error as a plain stderr block;
 * - kernel_info, shutdown and comm_info replies carry `status: "ok"` (comm_info was sent as a
 *   complete_reply), shutdown echoes `restart`.
 */
'use strict';
const util = require('util');

/** The executor reports a cell's failure through its console.error: keep it for the reply. */
function recordingConsole(real) {
  let calls = [];
  return {
    console: { log: real.log, error: (...args) => calls.push(args) },
    take() {
      const c = calls;
      calls = [];
      return c;
    },
  };
}

// frames of tslab, the vm wrapper and Node's internals say nothing about the cell; nor does the
// "file:line" above V8's source excerpt (the compiled line, not the source's)
const NOISE = /node_modules[\\/]tslab[\\/]|kernels[\\/]piat-ts[\\/]|node:internal|node:vm|^evalmachine\.|^\/\S*:\d+$|^\s*at (new Promise|Generator\.next|process\.processTicksAndRejections)/;

const isDiagnostic = (args) => typeof args[0] === 'string' && args[0].startsWith('%s%d:%d - %s');

/** ename, evalue, traceback from what the executor printed: a thrown value, or TypeScript diagnostics. */
function errorContent(calls) {
  if (!calls || !calls.length) return { ename: 'Error', evalue: 'the cell failed', traceback: ['Error: the cell failed'] };
  if (calls.every(isDiagnostic)) {
    // printDiagnostics: ("%s%d:%d - %s", file, line, column, message), one call per diagnostic
    const texts = calls.map((args) => util.format(...args));
    return { ename: 'TSError', evalue: texts[0], traceback: texts.map((t) => `TSError: ${t}`) };
  }
  const first = calls[calls.length - 1][0];
  if (first instanceof Error) {
    const interrupted = first.message === 'Interrupted asynchronously' || /Script execution was interrupted/.test(first.message);
    const ename = interrupted ? 'KeyboardInterrupt' : first.name || 'Error';
    const lines = String(first.stack || `${ename}: ${first.message}`).split('\n').filter((l) => !NOISE.test(l));
    return { ename, evalue: first.message, traceback: lines };
  }
  const text = util.inspect(first);
  return { ename: 'Error', evalue: text, traceback: [`Uncaught ${text}`] };
}

function fixProtocol(tslabDir) {
  const { ZmqServer, JupyterHandlerImpl } = require(`${tslabDir}/dist/jupyter.js`);
  const executorModule = require(`${tslabDir}/dist/executor.js`);
  let failures = null;

  const createExecutor = executorModule.createExecutor;
  executorModule.createExecutor = (rootDir, convs, con) => {
    failures = recordingConsole(con);
    return createExecutor(rootDir, convs, failures.console);
  };

  ZmqServer.prototype.handleExecute = async function (sock, msg) {
    const send = (type, content) => {
      const m = msg.createReply();
      m.header.msg_type = type;
      m.content = content;
      m.signAndSend(this.connInfo.key, this.iopub);
    };
    const content = await this.handler.handleExecute(
      msg.content,
      (name, text) => send('stream', { name, text }),
      (data, update) => send(update ? 'update_display_data' : 'display_data', data),
    );
    if (content.status === 'error') {
      // the executor runs one cell at a time, so the failure recorded last is this cell's
      const err = errorContent(failures && failures.take());
      send('error', err);
      Object.assign(content, err);
    } else if (content.status === 'ok') {
      Object.assign(content, { payload: [], user_expressions: {} });
    }
    const reply = msg.createReply();
    reply.header.msg_type = 'execute_reply';
    reply.content = content;
    reply.signAndSend(this.connInfo.key, sock);
  };

  const handleKernel = JupyterHandlerImpl.prototype.handleKernel;
  JupyterHandlerImpl.prototype.handleKernel = function () {
    return { status: 'ok', ...handleKernel.call(this) };
  };

  ZmqServer.prototype.handleCommInfoRequest = function (sock, msg) {
    const reply = msg.createReply();
    reply.header.msg_type = 'comm_info_reply';
    reply.content = { status: 'ok', comms: {} };
    reply.signAndSend(this.connInfo.key, sock);
  };

  ZmqServer.prototype.handleShutdown = function (sock, msg) {
    const reply = msg.createReply();
    reply.header.msg_type = 'shutdown_reply';
    reply.content = { status: 'ok', restart: Boolean(msg.content.restart) };
    reply.signAndSend(this.connInfo.key, sock);
  };
}

module.exports = { fixProtocol, errorContent };

#!/usr/bin/env node
/*
 * Starts this project's tslab kernel, with three changes to stock tslab 1.0.22 (one module each):
 * - send-queue.js: queued zeromq sends (tslab's unawaited sends kill the kernel with EBUSY);
 * - typescript-source.js: notebooks import the library's TypeScript source through ts-node;
 * - protocol.js: errors with a traceback and replies with the fields Jupyter checks.
 */
'use strict';
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const tslabDir = path.join(root, 'node_modules', 'tslab');
let zmq;
try {
  zmq = require(require.resolve('zeromq', { paths: [tslabDir] }));
} catch (e) {
  console.error(`piat-ts kernel: cannot load zeromq from ${tslabDir} (${e.message}). Run 'npm install' in ${root}.`);
  process.exit(1);
}

require('./send-queue').queueSends(zmq);
require('./typescript-source').useTypeScriptSource(root, tslabDir);
require('./protocol').fixProtocol(tslabDir);

require(path.join(tslabDir, 'dist', 'main.js')).main();

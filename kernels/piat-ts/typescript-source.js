/*
 * Lets a notebook import the library's TypeScript source (`import * as piat from "../src/index"`),
 * so that code moved from a cell into src/ is used after a kernel restart, without `npm run build`.
 *
 * 1. ts-node compiles src/*.ts when Node requires it. Transpile only: type errors are tsc's job
 *    (`npm run build`), and checking the whole library at every kernel start would take long.
 *    Its output is cached on disk (cacheOutputs).
 * 2. tslab type-checks each cell with a TypeScript program whose rootDir is the notebook's folder,
 *    and refuses an import from outside it ("File '…/src/index.ts' is not under 'rootDir'"). For
 *    files of this project outside that folder, tslab's program still reads them for types
 *    (completion and inspection keep working) but neither reports that rule nor emits them: Node
 *    loads them through ts-node instead. tslab reaches TypeScript through one module, so that
 *    module's exports are wrapped before tslab loads.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const ROOTDIR_RULE = 6059; // "File '{0}' is not under 'rootDir' '{1}'."

function inside(dir, file) {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Project source outside the kernel's folder: left to ts-node. */
function projectSourceElsewhere(root, file) {
  return inside(root, file) && !inside(process.cwd(), file) && !file.split(path.sep).includes('node_modules');
}

/**
 * Keeps ts-node's output on disk (node_modules/.cache/piat-ts-kernel/), keyed by the file's
 * content, name and the compiler's settings: transpiling the library takes ~5 s at every kernel
 * start, a restart after an edit then re-transpiles only the edited files. Tracebacks still point
 * at src/*.ts lines: source-map-support reads the inline map of a cached output from here.
 */
function cacheOutputs(root, service, tsNodeVersion) {
  const dir = path.join(root, 'node_modules', '.cache', 'piat-ts-kernel');
  const salt = JSON.stringify([tsNodeVersion, service.ts.version, service.config.options]);
  const served = new Map();
  const compile = service.compile.bind(service);
  service.compile = (code, fileName, ...rest) => {
    const file = path.join(dir, crypto.createHash('sha256').update(salt).update(fileName).update('\0').update(code).digest('hex') + '.js');
    try {
      const output = fs.readFileSync(file, 'utf8');
      served.set(fileName, output);
      return output;
    } catch {
      // not cached yet
    }
    const output = compile(code, fileName, ...rest);
    try {
      fs.mkdirSync(dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, output);
      fs.renameSync(tmp, file);
    } catch {
      // a read-only checkout: no cache, same result
    }
    return output;
  };
  require(require.resolve('@cspotcode/source-map-support', { paths: [path.dirname(require.resolve('ts-node/package.json', { paths: [root] }))] })).install({
    retrieveFile: (p) => served.get(path.normalize(p)) || '',
  });
}

function registerTsNode(root) {
  let tsNode;
  try {
    tsNode = require(require.resolve('ts-node', { paths: [root] }));
  } catch (e) {
    process.stderr.write(`piat-ts kernel: ts-node is missing (${e.message.split('\n')[0]}); notebooks can only import the build (../dist/src/index). Run 'npm install' in ${root}.\n`);
    return false;
  }
  const service = tsNode.register({ project: path.join(root, 'tsconfig.json'), transpileOnly: true });
  cacheOutputs(root, service, tsNode.VERSION);
  return true;
}

function relaxRootDir(root, tslabDir) {
  const id = require.resolve('@tslab/typescript-for-tslab', { paths: [tslabDir] });
  const ts = require(id);
  const wrapped = {};
  for (const k of Object.keys(ts)) Object.defineProperty(wrapped, k, { enumerable: true, configurable: true, get: () => ts[k] });

  const mentionsProjectSource = (d) => {
    const text = typeof d.messageText === 'string' ? d.messageText : d.messageText.messageText;
    const m = /^File '([^']+)'/.exec(text);
    return m !== null && projectSourceElsewhere(root, path.resolve(m[1]));
  };
  Object.defineProperty(wrapped, 'getPreEmitDiagnosticsOfFiles', {
    enumerable: true,
    configurable: true,
    value(program, files, ...rest) {
      const own = files.filter((f) => !projectSourceElsewhere(root, f.fileName));
      return ts.getPreEmitDiagnosticsOfFiles(program, own, ...rest).filter((d) => !(d.code === ROOTDIR_RULE && mentionsProjectSource(d)));
    },
  });
  Object.defineProperty(wrapped, 'createWatchProgram', {
    enumerable: true,
    configurable: true,
    value(host, ...rest) {
      const after = host.afterProgramCreate;
      host.afterProgramCreate = function (builder) {
        const emit = builder.emit;
        builder.emit = function (sourceFile, ...args) {
          if (sourceFile && projectSourceElsewhere(root, sourceFile.fileName)) return { emitSkipped: true, diagnostics: [] };
          return emit.call(this, sourceFile, ...args);
        };
        return after.call(this, builder);
      };
      return ts.createWatchProgram(host, ...rest);
    },
  });
  require.cache[id].exports = wrapped;
}

/** Call before tslab is loaded. */
function useTypeScriptSource(root, tslabDir) {
  if (registerTsNode(root)) relaxRootDir(root, tslabDir);
}

module.exports = { useTypeScriptSource };

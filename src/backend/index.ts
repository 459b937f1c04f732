/**
 * Chooses and prepares the tfjs backend once per process.
 *
 * Order when nothing is forced, fastest first as `npm run bench` measures them: `torch` (the
 * libtorch addon; on a CUDA GPU when its build and the machine have one, else every CPU core),
 * the native TensorFlow binding (GPU build, then CPU build) when it loads, wasm (SIMD when the
 * runtime has it), then the pure-JavaScript cpu backend. `PIAT_BACKEND=torch|tensorflow|wasm|cpu`
 * (or the `backend` option) forces one; a forced backend that cannot start is an error, never a
 * silent fallback, because run records must say what ran.
 */
import * as tf from '@tensorflow/tfjs';
import { PiatError, oneOf } from '../util/errors';
import { registerWasmKernels } from './wasm-kernels';
import { installTapeFriendlyOps } from './tape-friendly-ops';
import { setTorchThreads, startTorch, TorchInfo } from './torch';
import { installTorchFusedOps } from './torch/fused-ops';
import { torchPath } from './torch/device-random';

export { torchPath };

export const BACKEND_NAMES = ['torch', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What ran: recorded next to every result. */
export interface BackendInfo {
  name: BackendName;
  /** Which npm package provided it (e.g. '@tensorflow/tfjs-node-gpu'). */
  provider: string;
  simd?: boolean;
  threads?: boolean;
  tfjsVersion: string;
  /** Why better-ranked backends were skipped, for the record. */
  skipped: string[];
  /** torch only: libtorch version, device, ATen threads, kernels without a native implementation. */
  torch?: TorchInfo;
}

let current: BackendInfo | undefined;

function tryRequire(id: string): { ok: true } | { ok: false; reason: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(id);
    return { ok: true };
  } catch (e) {
    const first = String((e as Error).message ?? e).split('\n')[0];
    return { ok: false, reason: `${id}: ${first}` };
  }
}

async function activate(name: BackendName): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

async function startTensorflow(skipped: string[]): Promise<string | undefined> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    const r = tryRequire(pkg);
    if (!r.ok) {
      skipped.push(r.reason);
      continue;
    }
    if (await activate('tensorflow')) return pkg;
    skipped.push(`${pkg}: loaded but the 'tensorflow' backend did not start`);
  }
  return undefined;
}

async function startWasm(skipped: string[]): Promise<boolean> {
  const r = tryRequire('@tensorflow/tfjs-backend-wasm');
  if (!r.ok) {
    skipped.push(r.reason);
    return false;
  }
  registerWasmKernels();
  if (await activate('wasm')) {
    installTapeFriendlyOps();
    return true;
  }
  skipped.push('@tensorflow/tfjs-backend-wasm: loaded but the wasm backend did not start');
  return false;
}

/** The backend named by PIAT_BACKEND, validated; undefined when unset or empty. */
export function backendFromEnv(env: NodeJS.ProcessEnv = process.env): BackendName | undefined {
  const v = env.PIAT_BACKEND?.trim();
  if (!v) return undefined;
  return oneOf('backend (PIAT_BACKEND)', v, BACKEND_NAMES);
}

/**
 * Starts the backend (idempotent: later calls return the first choice unless a different one is
 * forced). Throws PiatError('backend-unavailable') when a forced backend cannot start.
 */
export async function initBackend(opts: { backend?: BackendName | string } = {}): Promise<BackendInfo> {
  const forced = opts.backend !== undefined ? oneOf('backend', String(opts.backend), BACKEND_NAMES) : backendFromEnv();
  if (current && (!forced || forced === current.name)) return current;

  const skipped: string[] = [];
  const order: BackendName[] = forced ? [forced] : [...BACKEND_NAMES];
  for (const name of order) {
    if (name === 'torch') {
      try {
        const torch = await startTorch();
        installTapeFriendlyOps();
        installTorchFusedOps(); // after the tape-friendly ops, which it wraps
        return (current = { ...info('torch', torchProvider(torch), skipped), torch });
      } catch (e) {
        if (forced) throw e;
        skipped.push(`torch: ${String((e as Error).message ?? e).split('\n')[0]}`);
      }
    } else if (name === 'tensorflow') {
      const pkg = await startTensorflow(skipped);
      if (pkg) return (current = info('tensorflow', pkg, skipped));
    } else if (name === 'wasm') {
      if (await startWasm(skipped)) {
        return (current = {
          ...info('wasm', '@tensorflow/tfjs-backend-wasm', skipped),
          simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
          threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
        });
      }
    } else if (await activate('cpu')) {
      installTapeFriendlyOps();
      return (current = info('cpu', '@tensorflow/tfjs-backend-cpu', skipped));
    } else {
      skipped.push('cpu: did not start');
    }
  }
  throw new PiatError(
    'backend-unavailable',
    `Backend '${forced ?? 'any'}' is not available here.\n  ${skipped.join('\n  ')}\n` +
      (forced === 'tensorflow'
        ? 'The native backend needs @tensorflow/tfjs-node(-gpu), whose install downloads libtensorflow; ' +
          'install it on a machine with internet, or unset PIAT_BACKEND to use wasm.'
        : `Unset PIAT_BACKEND or choose one of: ${BACKEND_NAMES.join(', ')}.`),
  );
}

function info(name: BackendName, provider: string, skipped: string[]): BackendInfo {
  return { name, provider, tfjsVersion: tf.version.tfjs, skipped: [...skipped] };
}

/**
 * Sets the started backend's compute threads (torch: ATen's; what PIAT_THREADS sets at start) and
 * returns its new info; other backends cannot change theirs once started.
 */
export function setComputeThreads(n: number): BackendInfo {
  const b = backendInfo();
  if (b.name !== 'torch' || !b.torch)
    throw new PiatError('bad-option', `the ${b.name} backend cannot change its thread count once started; only torch can (PIAT_THREADS)`);
  const torch = setTorchThreads(n);
  return (current = { ...b, provider: torchProvider(torch), torch });
}

/** The torch backend's provider line: "libtorch 1.13.0 (cpu, 2 threads)". */
const torchProvider = (t: TorchInfo) => `libtorch ${t.libtorch} (${t.device}, ${t.threads} threads)`;

/** The backend in use; throws if initBackend has not run. */
export function backendInfo(): BackendInfo {
  if (!current) throw new PiatError('backend-not-initialised', 'Call initBackend() before training or evaluating.');
  return current;
}

/**
 * The backend as a run's identity names it: its name, and on torch the path when it is not the
 * per-layer one (`torch (fused)`: PIAT_FUSED_MODEL=1 computes other numbers, so a run started on one
 * path does not resume on the other). Per-layer runs keep the plain name their identities hold.
 */
export function computeIdentity(b: BackendInfo = backendInfo()): string {
  const p = b.name === 'torch' ? torchPath() : 'per-layer';
  return p === 'per-layer' ? b.name : `${b.name} (${p})`;
}

/** One line for reports and notebook headers, e.g. "torch (libtorch 1.13.0, cpu, 2 threads; tfjs 4.22.0)". */
export function describeBackend(b: BackendInfo = backendInfo()): string {
  if (b.torch)
    return `torch (libtorch ${b.torch.libtorch}, ${b.torch.device}, ${b.torch.threads} thread${b.torch.threads === 1 ? '' : 's'}; tfjs ${b.tfjsVersion})`;
  const extra = b.name === 'wasm' ? `${b.simd ? 'SIMD' : 'no SIMD'}, ${b.threads ? 'threads' : '1 thread'}; ` : '';
  return `${b.name} (${extra}tfjs ${b.tfjsVersion})`;
}

/**
 * A micro-batch size for settings that only wasm needs (its heap is 4 GiB): `size` on wasm, none
 * elsewhere, so batch norm sees the whole batch as in PyTorch. Before initBackend, assumes wasm.
 */
export function wasmMicroBatch(size: number): number | undefined {
  return !current || current.name === 'wasm' ? size : undefined;
}

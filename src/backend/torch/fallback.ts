/**
 * Kernels the torch backend does not implement run here, on tfjs's cpu backend: inputs are copied
 * out of ATen, the cpu kernel runs, outputs are copied back. Each kernel name is logged once to
 * stderr and counted, `node dist/src/cli.js backend` lists them, and PIAT_TORCH_FALLBACK=error
 * turns any use into an error (the test suite and the smoke notebooks run that way).
 */
import * as tf from '@tensorflow/tfjs';
import { PiatError } from '../../util/errors';

type Info = tf.TensorInfo;
interface Storage {
  readSync(dataId: object): tf.backend_util.BackendValues;
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object;
}

const used = new Map<string, { calls: number; reason: string }>();

/** Kernel name -> calls that ran on the cpu fallback in this process, and why. */
export function torchFallbacks(): Record<string, { calls: number; reason: string }> {
  return Object.fromEntries(used);
}

export function runOnCpu(
  name: string,
  reason: string,
  torch: Storage,
  inputs: Info[] | Record<string, Info>,
  attrs: unknown,
): Info | Info[] {
  if (process.env.PIAT_TORCH_FALLBACK === 'error') {
    throw new PiatError(
      'torch-fallback',
      `torch backend: kernel ${name} would run on the cpu fallback (${reason}); PIAT_TORCH_FALLBACK=error forbids it`,
    );
  }
  const seen = used.get(name);
  if (seen) seen.calls++;
  else {
    used.set(name, { calls: 1, reason });
    if (process.env.PIAT_TORCH_FALLBACK !== 'quiet')
      process.stderr.write(`piat-ts torch backend: kernel ${name} runs on the cpu fallback (${reason})\n`);
  }
  const cpu = tf.findBackend('cpu') as unknown as Storage & { disposeData(id: object, force?: boolean): boolean };
  const kernel = tf.getKernel(name, 'cpu');
  if (!cpu || !kernel)
    throw new PiatError('backend-kernel-missing', `torch backend: kernel ${name} is implemented neither natively nor on the cpu backend`);
  const toCpu = (i: Info): Info => ({ dataId: cpu.write(torch.readSync(i.dataId), i.shape, i.dtype), shape: i.shape, dtype: i.dtype });
  const cpuInputs = Array.isArray(inputs)
    ? inputs.map(toCpu)
    : Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v && toCpu(v)]));
  try {
    const out = kernel.kernelFunc({ inputs: cpuInputs as never, attrs: attrs as never, backend: cpu as never }) as Info | Info[];
    const outs = Array.isArray(out) ? out : [out];
    const back = outs.map((o) => ({ dataId: torch.write(cpu.readSync(o.dataId), o.shape, o.dtype), shape: o.shape, dtype: o.dtype }));
    outs.forEach((o) => cpu.disposeData(o.dataId));
    return Array.isArray(out) ? back : back[0];
  } finally {
    Object.values(cpuInputs).forEach((i) => i && cpu.disposeData((i as Info).dataId));
  }
}

/** The environment a run executed in, recorded next to its results. */
import * as os from 'os';
import * as path from 'path';
import { PACKAGE_ROOT } from './paths';
import * as tf from '@tensorflow/tfjs';

export function environment(): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    tfjs: tf.version.tfjs,
    piatTs: require(path.join(PACKAGE_ROOT, 'package.json')).version as string,
  };
}

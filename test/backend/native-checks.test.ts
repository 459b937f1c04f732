/**
 * The torch addon's handling of what JavaScript hands it (native/torch/addon.cc): typed arrays of
 * any element type are converted to the tensor's dtype by value (a Uint16Array above 32767 was once
 * read as int16), and wrong arguments are JavaScript errors that say what was wrong.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { startTorchOrSkip } from '../helpers';
import { TorchBackend } from '../../src/backend/torch/backend';
import { TorchNative } from '../../src/backend/torch/native';

const F32 = 0;
const I32 = 1;
const BOOL = 2;

let available = false;
let native: TorchNative;
before(async () => {
  available = await startTorchOrSkip();
  if (available) native = (tf.backend() as unknown as TorchBackend).native;
});

/** Writes `values` as a tensor of `dtype`, reads it back and frees it. */
function roundTrip(values: ArrayBufferView, shape: number[], dtype: number): number[] {
  const h = native.write(values, shape, dtype);
  try {
    return Array.from(native.read(h));
  } finally {
    native.dispose(h);
  }
}

const UINT16 = [0, 1, 32767, 32768, 40000, 65535];

test('a Uint16Array with values above 32767 keeps its values (int32 and float32 tensors)', (t) => {
  if (!available) return t.skip('torch backend not built');
  const before = native.memory().tensors;
  assert.deepEqual(roundTrip(new Uint16Array(UINT16), [2, 3], I32), UINT16);
  assert.deepEqual(roundTrip(new Uint16Array(UINT16), [6], F32), UINT16);
  assert.deepEqual(roundTrip(new Uint16Array([0, 40000]), [2], BOOL), [0, 1]);
  assert.equal(native.memory().tensors, before, 'tensors left in the addon');
});

test('the backend writes a Uint16Array by value', (t) => {
  if (!available) return t.skip('torch backend not built');
  const backend = tf.backend() as unknown as TorchBackend;
  const id = backend.write(new Uint16Array(UINT16) as unknown as Int32Array, [6], 'int32');
  try {
    assert.deepEqual(Array.from(backend.readSync(id) as Int32Array), UINT16);
  } finally {
    backend.disposeData(id, true);
  }
});

test('typed arrays of another element type are converted by value, not copied as bytes', (t) => {
  if (!available) return t.skip('torch backend not built');
  // the same byte count as the tensor: these were copied bit for bit before
  assert.deepEqual(roundTrip(new Float32Array([1.5, -2.5, 3]), [3], I32), [1, -2, 3]);
  assert.deepEqual(roundTrip(new Int32Array([7, -8, 1 << 24]), [3], F32), [7, -8, 1 << 24]);
  assert.deepEqual(roundTrip(new Uint32Array([3e9, 5]), [2], F32), [3e9, 5]);
  assert.deepEqual(roundTrip(new Int16Array([-32768, -1, 32767]), [3], I32), [-32768, -1, 32767]);
  assert.deepEqual(roundTrip(new Int8Array([-128, 127]), [2], I32), [-128, 127]);
  assert.deepEqual(roundTrip(new Uint8ClampedArray([0, 255]), [2], F32), [0, 255]);
  assert.deepEqual(roundTrip(new Float64Array([0.1, -1e10]), [2], F32), [Math.fround(0.1), Math.fround(-1e10)]);
  assert.deepEqual(roundTrip(new BigInt64Array([-5n, 1n << 40n]), [2], F32), [-5, 2 ** 40]);
  assert.deepEqual(roundTrip(new Uint8Array([0, 2, 255]), [3], BOOL), [0, 1, 1]);
  assert.deepEqual(roundTrip(new Float32Array([0, -0.5, 2]), [3], BOOL), [0, 1, 1]);
  // the same element type is copied as it is, empty tensors included
  assert.deepEqual(roundTrip(new Float32Array([1.25, -0]), [2], F32), [1.25, -0]);
  assert.deepEqual(roundTrip(new Int32Array([-(2 ** 31), 2 ** 31 - 1]), [2], I32), [-(2 ** 31), 2 ** 31 - 1]);
  assert.deepEqual(roundTrip(new Float32Array(0), [2, 0], F32), []);
  assert.deepEqual(roundTrip(new Float32Array([4]), [], F32), [4]);
});

test('arguments the addon cannot take are errors that say what was wrong', (t) => {
  if (!available) return t.skip('torch backend not built');
  const before = native.memory().tensors;
  assert.throws(() => native.write(new BigUint64Array([1n]), [1], I32), /BigUint64Array cannot be written \(ATen has no uint64 dtype\)/);
  assert.throws(() => native.write([1, 2] as unknown as ArrayBufferView, [2], F32), /values must be a typed array/);
  assert.throws(() => native.write(new Float32Array(3), [2, 2], F32), /3 values for a tensor of 4 elements/);
  assert.throws(() => native.write(new Float32Array(1), [1], 7), /unknown dtype code 7/);
  assert.throws(() => native.write(new Float32Array(1), [1], -1), /dtype must be an unsigned 32-bit integer/);
  assert.throws(() => native.read(1.5), /handle must be an unsigned 32-bit integer/);
  assert.throws(() => native.read('0' as unknown as number), /handle must be a number/);
  assert.throws(() => native.dispose(1e9), /unknown or disposed tensor handle/);
  assert.throws(() => (native.read as unknown as () => void)(), /expected 1 arguments/);
  assert.throws(() => native.run(42 as unknown as string, [], null), /kernel name must be a string/);
  const h = native.write(new Float32Array([1, 2, 3, 4]), [4], F32);
  try {
    assert.throws(() => native.run('Reshape', h as unknown as number[], null), /torch kernel Reshape: handles must be an array/);
    assert.throws(() => native.run('Cast', [h], { dtype: 1 }), /torch kernel Cast: attr dtype must be a string/);
    assert.throws(() => native.run('Reshape', [h], { shape: 'x' }), /torch kernel Reshape: attr shape is not a number/);
    // an exception thrown by JavaScript while the addon reads an attr is the one that reaches the caller
    const attrs = Object.defineProperty({}, 'shape', {
      get() {
        throw new Error('thrown by the shape getter');
      },
    });
    assert.throws(() => native.run('Reshape', [h], attrs), /thrown by the shape getter/);
    const flat = native.run('Reshape', [h], { shape: [2, 2] });
    assert.deepEqual(flat.slice(0, 1).concat(flat.slice(2)), [1, F32, 2, 2, 2]);
    assert.deepEqual(Array.from(native.read(flat[1])), [1, 2, 3, 4]);
    native.dispose(flat[1]);
  } finally {
    native.dispose(h);
  }
  assert.equal(native.memory().tensors, before, 'tensors left in the addon');
});

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend, backendFromEnv } from '../../src/backend';
import { profileFromEnv } from '../../src/experiments/profiles';
import { PiatError } from '../../src/util/errors';
import { ArrayDataset } from '../../src/data/dataset';

test('unknown profile: clear error listing the profiles', () => {
  assert.throws(
    () => profileFromEnv('quick', { PIAT_PROFILE: 'huge' }),
    (e: unknown) =>
      e instanceof PiatError && /Unknown profile \(PIAT_PROFILE\) 'huge'\. Expected one of: smoke, quick, overfit, paper\./.test(e.message),
  );
  assert.equal(profileFromEnv('quick', {}), 'quick');
  assert.equal(profileFromEnv('quick', { PIAT_PROFILE: 'smoke' }), 'smoke');
});

test('unknown backend: clear error listing the backends', async () => {
  assert.throws(
    () => backendFromEnv({ PIAT_BACKEND: 'cuda' }),
    /Unknown backend \(PIAT_BACKEND\) 'cuda'\. Expected one of: torch, tensorflow, wasm, cpu\./,
  );
  await assert.rejects(initBackend({ backend: 'metal' }), /Unknown backend 'metal'/);
});

test('a forced backend that cannot start is an error, not a silent fallback', async (t) => {
  let native = true;
  try {
    require.resolve('@tensorflow/tfjs-node');
  } catch {
    native = false;
  }
  if (native) return t.skip('the native binding is installed here');
  await assert.rejects(
    initBackend({ backend: 'tensorflow' }),
    (e: unknown) =>
      e instanceof PiatError && e.code === 'backend-unavailable' && /tfjs-node/.test(e.message) && /unset PIAT_BACKEND/.test(e.message),
  );
});

test('datasets reject mismatched shapes and labels out of range', () => {
  assert.throws(
    () => new ArrayDataset('d', new Float32Array(5), new Int32Array(2), [3], 2),
    /5 feature values do not match 2 labels × input shape \[3\]/,
  );
  assert.throws(() => new ArrayDataset('d', new Float32Array(6), new Int32Array([0, 4]), [3], 2), /label 4 at index 1 is outside \[0, 2\)/);
});

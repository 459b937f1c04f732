/**
 * The interactive kernel as Jupyter checks kernels: runs test/kernel_test.py (Debian's
 * python3-jupyter-kernel-test against kernels/piat-ts; see that file for what it covers).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { REPO_ROOT } from '../helpers';

const PYTHON = '/usr/bin/python3';

test('the piat-ts kernel passes jupyter_kernel_test: execute, streams, errors with traceback, completion, inspection, display, interrupt, restart, resumable training', () => {
  const probe = spawnSync(PYTHON, ['-c', 'import jupyter_kernel_test'], { encoding: 'utf8' });
  assert.equal(
    probe.status,
    0,
    `jupyter_kernel_test is missing: apt-get install python3-jupyter-kernel-test (bash scripts/setup.sh installs it)\n${probe.stderr}`,
  );
  const script = path.join(REPO_ROOT, 'test', 'kernel_test.py');
  assert.ok(fs.existsSync(script), script);
  const r = spawnSync(PYTHON, [script, '-v'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 6 * 60 * 1000 });
  const report = r.stderr.slice(-6000);
  assert.equal(r.status, 0, `kernel tests failed:\n${report}`);
  // the suite's own checks, and ours, ran rather than skipped
  for (const name of [
    'test_kernel_info',
    'test_execute_stdout',
    'test_execute_stderr',
    'test_error',
    'test_completion',
    'test_inspect',
    'test_is_complete',
    'test_display_data',
    'test_error_has_traceback_and_names',
    'test_interrupt_long_cells',
    'test_restart_forgets_state',
    'test_interrupted_training_resumes',
  ]) {
    assert.match(r.stderr, new RegExp(`${name} \\(.*\\) \\.\\.\\. ok`), `${name} did not pass:\n${report}`);
  }
});

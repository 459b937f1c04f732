"""The project's Jupyter kernel (kernels/piat-ts), checked the way Jupyter checks kernels.

jupyter_kernel_test (Debian: python3-jupyter-kernel-test) drives the kernel over the messaging
protocol and validates every message against the protocol's schema: kernel info, execution with
stdout and stderr, errors with a traceback, completion, inspection, is_complete, and rich display.
The tests below add what a researcher does by hand: interrupt a long cell, restart the kernel, and
interrupt a training run, then resume it.

Run: python3 test/kernel_test.py -v (test/notebooks/kernel.test.ts does, under npm test).
"""
import json
import os
import shutil
import tempfile
import time
import unittest
from pathlib import Path

import jupyter_kernel_test
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent
os.environ["JUPYTER_PATH"] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p])

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


class PiatTsKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "piat-ts"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world");'
    code_stderr = 'console.error("written to stderr");'
    code_generate_error = 'throw new Error("boom");'
    completion_samples = [{"text": "Math.flo", "matches": {"floor"}}]
    complete_code_samples = ["const a = 1;", "function f() { return 1; }"]
    incomplete_code_samples = ["function f() {", "const b = ["]
    code_inspect_sample = "Math.floor"
    code_display_data = [
        {"code": f'import * as tslab from "tslab"; tslab.display.svg({json.dumps(SVG)});', "mime": "image/svg+xml"},
        {"code": 'import * as tslab from "tslab"; tslab.display.html("<b>bold</b>");', "mime": "text/html"},
        {"code": 'import * as tslab from "tslab"; tslab.display.markdown("# a title");', "mime": "text/markdown"},
    ]

    @classmethod
    def setUpClass(cls):
        # a notebook's kernel runs in the notebook's folder; notebooks/ imports ../src/index
        cls.km, cls.kc = start_new_kernel(kernel_name=cls.kernel_name, cwd=str(ROOT / "notebooks"), startup_timeout=120)

    def setUp(self):
        time.sleep(0.3)  # tslab refuses requests for 200 ms after a failed cell (the previous test's)

    def run_cell(self, code, timeout=120):
        """Executes `code`; returns the reply's content and the cell's output messages."""
        outputs = []
        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=lambda m: outputs.append(m))
        time.sleep(0.3)  # tslab refuses requests for 200 ms after a failed cell
        return reply["content"], outputs

    def interrupt_after(self, code, ready, timeout=120):
        """Starts `code`, interrupts the kernel once `ready()` holds, returns the reply and how long it took to come."""
        msg_id = self.kc.execute(code)
        deadline = time.time() + timeout
        while not ready():
            self.assertLess(time.time(), deadline, "the cell never got going")
            time.sleep(0.1)
        t0 = time.time()
        self.km.interrupt_kernel()
        while True:
            reply = self.kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        seconds = time.time() - t0
        time.sleep(0.3)
        self.flush_channels()
        return reply["content"], seconds

    def test_error_has_traceback_and_names(self):
        reply, outputs = self.run_cell('function inner() { throw new RangeError("out of range"); }\ninner();')
        self.assertEqual(reply["status"], "error")
        self.assertEqual((reply["ename"], reply["evalue"]), ("RangeError", "out of range"))
        error = [m for m in outputs if m["msg_type"] == "error"]
        self.assertEqual(len(error), 1)
        self.assertTrue(any("at inner" in line for line in error[0]["content"]["traceback"]), error[0]["content"]["traceback"])
        self.assertFalse([m for m in outputs if m["msg_type"] == "stream"], "the error is not also printed to stderr")
        reply, outputs = self.run_cell('const n: number = "text";')
        self.assertEqual((reply["status"], reply["ename"]), ("error", "TSError"))
        self.assertIn("not assignable to type 'number'", reply["evalue"])

    def test_interrupt_long_cells(self):
        for code in ("while (true) {}", "await new Promise((r) => setTimeout(r, 600000));"):
            with self.subTest(code=code):
                started = time.time()
                reply, seconds = self.interrupt_after(code, lambda: time.time() - started > 1.5)
                self.assertEqual((reply["status"], reply["ename"]), ("error", "KeyboardInterrupt"))
                self.assertLess(seconds, 10)
                self.assertEqual(self.run_cell("console.log(6 * 7);")[0]["status"], "ok", "the kernel lives on")

    def test_restart_forgets_state(self):
        self.run_cell("(globalThis as any).marker = 42;")
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=120)
        self.flush_channels()
        reply, outputs = self.run_cell("console.log(typeof (globalThis as any).marker);")
        self.assertEqual(reply["status"], "ok")
        self.assertEqual("".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream").strip(), "undefined")

    def test_interrupted_training_resumes(self):
        run_dir = tempfile.mkdtemp(prefix="piat-kernel-run-")
        self.addCleanup(shutil.rmtree, run_dir, True)
        records = Path(run_dir) / "records.jsonl"
        epochs_done = lambda: len(records.read_text().splitlines()) if records.exists() else 0
        # each epoch waits 300 ms in onEpoch, so the interrupt lands inside training
        reply, _ = self.run_cell(
            'import * as piat from "../src/index";\n'
            "await piat.initBackend();\n"
            "const trainToy = (stop: boolean) => piat.train({\n"
            "  model: piat.mlp({ inputDim: 3, numClasses: 2, hidden: [8], seed: 2 }),\n"
            "  objective: piat.pgdAt({ attack: { eps: 0.03, alpha: 0.01, steps: 2 } }),\n"
            "  train: piat.twoCircles({ perClass: 40, seed: 7 }),\n"
            "  config: { epochs: 40, batchSize: 20, seed: 5, optimizer: { lr: 0.2, momentum: 0.9 } },\n"
            f"  runDir: {json.dumps(run_dir)}, meta: {{ method: 'toy' }},\n"
            "  onEpoch: () => { const t = Date.now(); while (Date.now() - t < 300) {} },\n"
            "  shouldStop: () => stop,\n"
            "});",
            timeout=180,
        )
        self.assertEqual(reply["status"], "ok", reply)
        reply, _ = self.interrupt_after("await trainToy(false);", lambda: epochs_done() >= 2)
        self.assertEqual((reply["status"], reply["ename"]), ("error", "KeyboardInterrupt"))
        time.sleep(1.5)
        saved = epochs_done()
        time.sleep(1.0)
        self.assertEqual(epochs_done(), saved, "training stopped in the background too")
        self.assertFalse((Path(run_dir) / "done.json").exists())
        # run again: it resumes after the saved epoch (shouldStop ends it after one more)
        reply, outputs = self.run_cell("const again = await trainToy(true);\nconsole.log(JSON.stringify(again.records.map((r) => r.epoch)));", timeout=180)
        self.assertEqual(reply["status"], "ok", reply)
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        self.assertIn(json.dumps(list(range(1, saved + 2)), separators=(",", ":")), text)
        shown = [m["content"]["data"].get("text/plain", "") for m in outputs if m["msg_type"] in ("display_data", "update_display_data")]
        self.assertRegex(shown[-1], rf"^toy · stopped after epoch {saved + 1}, in .* \(resumed after epoch {saved}\)")


if __name__ == "__main__":
    unittest.main()

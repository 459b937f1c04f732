#!/usr/bin/python3
"""Execute piat-ts notebooks with the project's tslab kernel and render them to reports/.

Usage: run_notebooks.py [--profile smoke|quick|overfit|paper] [--timeout S] [NOTEBOOK ...]

Cell timeout: --timeout, else PIAT_CELL_TIMEOUT, else 2 hours; at the paper profile, each
notebook's own timeout from results/paper-cost.json (twice its projected GPU hours on the
benchmarked H200, `npm run results`), since its pool-training cell runs for days.

Runs with Debian's python3 (nbclient, nbconvert). Each notebook is executed top to bottom at the
given scale profile (PIAT_PROFILE for the kernel); its HTML report goes to reports/<name>.html and
says at the top which profile and backend produced it. reports/index.html lists every notebook of
notebooks/ (and any other that was run into the same folder) with its profile, backend, run date,
duration and status: ok, failed at cell N, or not run. A cell that fails makes the run exit
non-zero, naming the notebook and the cell; the partial report is still written.

Notebooks import the library's TypeScript source (../src/index): the kernel compiles it on import,
so no build is needed (see kernels/piat-ts/typescript-source.js).
"""
import argparse
import base64
import datetime
import html
import json
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("smoke", "quick", "overfit", "paper")


def shown(p):
    """A path relative to the repository when inside it, else absolute."""
    p = Path(p)
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def fail(msg):
    print(f"run_notebooks: {msg}", file=sys.stderr)
    sys.exit(2)


try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter
except ImportError as e:  # pragma: no cover - set-up problem
    fail(f"{e}. Install Jupyter's Debian packages first: bash scripts/setup.sh")


def b64encode_text(s):
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


def render(nb, out_file):
    exporter = HTMLExporter(template_name="piat", extra_template_basedirs=[str(ROOT / "scripts" / "nbconvert")])
    exporter.register_filter("b64encode_text", b64encode_text)
    body, _ = exporter.from_notebook_node(nb)
    out_file.write_text(body, encoding="utf-8")


def first_error(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out
    return None


# Asks the kernel, after the notebook's cells, which backend the library initialised. Only modules
# the notebook already loaded are asked (source through ts-node, or the build): nothing new loads.
BACKEND_QUERY = """(() => {
  const loaded = (require as any).cache;
  for (const f of [%s, %s]) {
    try { if (loaded[f]) { console.log("PIAT_BACKEND " + JSON.stringify(loaded[f].exports.backendInfo())); return; } } catch (e) {}
  }
  console.log("PIAT_BACKEND null");
})();""" % (json.dumps(str(ROOT / "src" / "backend" / "index.ts")), json.dumps(str(ROOT / "dist" / "src" / "backend" / "index.js")))


def backend_label(info):
    """'wasm (SIMD)', 'torch · libtorch 1.13.0 (cpu, 2 threads)', …: the name and what it runs on."""
    if not info:
        return "not initialised"
    label = info["name"] + (" (SIMD)" if info.get("simd") else "")
    if info["name"] in ("torch", "tensorflow") and info.get("provider"):
        label += " · " + info["provider"]
    return label


def ask_backend(client):
    cell = nbformat.v4.new_code_cell(BACKEND_QUERY)
    saved = client.timeout
    client.timeout = 60
    client.nb.cells.append(cell)  # nbclient writes the executed cell back by index
    try:
        time.sleep(0.3)  # tslab refuses requests for 200 ms after a failed cell
        client.execute_cell(cell, len(client.nb.cells) - 1)
    except Exception as e:  # best effort: a dead or stuck kernel leaves the backend unknown
        print(f"run_notebooks: could not ask the kernel for its backend: {type(e).__name__}: {e}", file=sys.stderr)
        return None
    finally:
        client.timeout = saved
        client.nb.cells.pop()
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    line = next((l for l in text.splitlines() if l.startswith("PIAT_BACKEND ")), None)
    return json.loads(line.split(" ", 1)[1]) if line else None


def execute(nb, path, timeout):
    """Runs the cells in order, stopping at the first error, then asks the kernel for its backend."""
    failed = {}

    def on_cell_error(cell, cell_index, execute_reply):
        failed.setdefault("index", cell_index)

    client = NotebookClient(
        nb,
        kernel_name="piat-ts",
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_error=on_cell_error,
    )
    client.reset_execution_trackers()
    error, backend = None, None
    try:
        with client.setup_kernel():
            info = client.wait_for_reply(client.kc.kernel_info())
            if info is not None:
                nb.metadata["language_info"] = info["content"]["language_info"]
            try:
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except CellExecutionError as e:
                error = e
            except Exception as e:  # a dead kernel or a timeout: nothing more to ask it
                error = e
                raise
            backend = ask_backend(client)
    except Exception as e:  # kernel start-up failures, and the above
        error = error or e
    return error, failed.get("index"), backend


def run_one(path, profile, timeout, out_dir):
    nb = nbformat.read(str(path), as_version=4)
    t0 = time.time()
    error, idx, backend = execute(nb, path, timeout)
    seconds = time.time() - t0
    if error is not None and idx is None:  # the kernel died or timed out: the first cell without an execution count
        idx = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not c.get("execution_count")), None)
    status = "ok" if error is None else f"failed at cell {idx + 1}" if idx is not None else "failed"
    nb.metadata["piat"] = {
        "profile": profile,
        "backend": backend_label(backend),
        "executed": datetime.datetime.now().isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "status": status,
    }
    out_file = out_dir / (path.stem + ".html")
    render(nb, out_file)
    result = {"ok": error is None, "seconds": seconds, "report": out_file, "status": status, "backend": nb.metadata["piat"]["backend"]}
    if error is None:
        return result
    where = f"cell {idx + 1} of {len(nb.cells)}" if idx is not None else "an unknown cell"
    detail = type(error).__name__
    if idx is not None:
        err = first_error(nb.cells[idx])
        src = nb.cells[idx].source.strip().splitlines()
        if err:
            detail = f"{err.get('ename')}: {err.get('evalue')}"
            tb = "\n".join(err.get("traceback", []))
            if tb:
                detail += "\n" + tb
        detail += "\n  cell starts: " + (src[0] if src else "")
    return {**result, "message": f"{shown(path)} failed in {where}: {detail}"}


INDEX_STYLE = """
body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{padding:6px 14px;text-align:left;border-bottom:1px solid #ddd;white-space:nowrap}
.status{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:bold}
.ok{background:#1a7f37}.failed{background:#cf222e}.not-run{background:#8c959f}
"""


def write_index(out_dir):
    """Every notebook of notebooks/ (not run yet: 'not run') and every other one run into out_dir."""
    index_file = out_dir / "index.json"
    entries = json.loads(index_file.read_text()) if index_file.exists() else {}
    names = sorted(set(entries) | {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")})
    rows = []
    for name in names:
        e = entries.get(name)
        if e is None:
            rows.append(
                f"<tr data-notebook=\"{html.escape(name)}\"><td>{html.escape(name)}</td><td>–</td><td>–</td><td>–</td><td>–</td>"
                "<td><span class=\"status not-run\">not run</span></td></tr>"
            )
            continue
        status = e.get("status") or ("ok" if e["ok"] else "failed")
        cls = "ok" if e["ok"] else "failed"
        rows.append(
            f"<tr data-notebook=\"{html.escape(name)}\"><td><a href=\"{html.escape(name)}.html\">{html.escape(name)}</a></td>"
            f"<td>{html.escape(e['profile'])}</td><td>{html.escape(e.get('backend', '–'))}</td><td>{html.escape(e['date'])}</td>"
            f"<td>{e['seconds']:.0f} s</td><td><span class=\"status {cls}\">{html.escape(status)}</span></td></tr>"
        )
    (out_dir / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>piat-ts reports</title>"
        f"<style>{INDEX_STYLE}</style></head><body>"
        "<h1>piat-ts: reproducing PIAT</h1><p>Every notebook, the scale profile and backend of its last run here, when it ran, how long it took, and how it ended.</p>"
        "<table><tr><th>notebook</th><th>profile</th><th>backend</th><th>run</th><th>time</th><th>status</th></tr>"
        + "".join(rows)
        + "</table></body></html>\n",
        encoding="utf-8",
    )


def update_index(out_dir, name, profile, result):
    index_file = out_dir / "index.json"
    entries = json.loads(index_file.read_text()) if index_file.exists() else {}
    entries[name] = {
        "profile": profile,
        "backend": result["backend"],
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "seconds": result["seconds"],
        "ok": result["ok"],
        "status": result["status"],
    }
    index_file.write_text(json.dumps(entries, indent=1))
    write_index(out_dir)


def cell_timeout(given, profile, stem):
    """--timeout, else PIAT_CELL_TIMEOUT, else the paper profile's projection for this notebook, else 2 hours."""
    if given is not None:
        return given
    if os.environ.get("PIAT_CELL_TIMEOUT"):
        return int(os.environ["PIAT_CELL_TIMEOUT"])
    if profile == "paper":
        cost = ROOT / "results" / "paper-cost.json"
        if cost.exists():
            for n in json.loads(cost.read_text())["notebooks"]:
                if n["notebook"] == stem:
                    return int(n["cellTimeoutSeconds"])
    return 7200


def main():
    # a runner stopped from outside (a test's timeout, a CI job cancelled) shuts its kernel down
    # on the way out instead of leaving it running, still training
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", help="notebook files (default: every notebooks/*.ipynb)")
    ap.add_argument("--profile", default=os.environ.get("PIAT_PROFILE", "quick"))
    ap.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: PIAT_CELL_TIMEOUT, else 7200; at paper, results/paper-cost.json)")
    ap.add_argument("--out", default=str(ROOT / "reports"))
    a = ap.parse_args()
    if a.profile not in PROFILES:
        fail(f"Unknown profile '{a.profile}'. Expected one of: {', '.join(PROFILES)}.")
    paths = [Path(p).resolve() for p in a.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for p in paths:
        if not p.exists():
            fail(f"No notebook {p}")
    if not (ROOT / "node_modules" / "tslab").exists():
        fail("The kernel is not installed (node_modules/tslab missing): run 'bash scripts/setup.sh' (or 'npm ci') first.")
    os.environ["PIAT_PROFILE"] = a.profile
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    out_dir = Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = []
    for p in paths:
        print(f"[{a.profile}] {shown(p)} ...", file=sys.stderr, flush=True)
        r = run_one(p, a.profile, cell_timeout(a.timeout, a.profile, p.stem), out_dir)
        update_index(out_dir, p.stem, a.profile, r)
        print(f"[{a.profile}] {shown(p)}: {r['status']} in {r['seconds']:.0f} s ({r['backend']}) -> {shown(r['report'])}", file=sys.stderr, flush=True)
        if not r["ok"]:
            failures.append(r["message"])
    for m in failures:
        print(f"\nFAILED: {m}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

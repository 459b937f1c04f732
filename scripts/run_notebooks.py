#!/usr/bin/python3
"""Execute piat-ts notebooks with the project's tslab kernel and render them to reports/.

Usage: run_notebooks.py [--profile smoke|quick|paper] [--timeout S] [NOTEBOOK ...]

Runs with Debian's python3 (nbclient, nbconvert). Each notebook is executed top to bottom at the
given scale profile (PIAT_PROFILE for the kernel); its HTML report goes to reports/<name>.html
and reports/index.html lists every report with its profile and run date. A cell that fails
makes the run exit non-zero, naming the notebook and the cell; the partial report is still written.
"""
import argparse
import base64
import datetime
import html
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("smoke", "quick", "paper")


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
    from nbclient.exceptions import CellExecutionError, DeadKernelError
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


def run_one(path, profile, timeout, out_dir):
    nb = nbformat.read(str(path), as_version=4)
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
    t0 = time.time()
    error = None
    try:
        client.execute()
    except CellExecutionError as e:
        error = e
    except DeadKernelError as e:
        error = e
    except Exception as e:  # timeouts and kernel start-up failures
        error = e
    seconds = time.time() - t0
    nb.metadata["piat"] = {"profile": profile, "executed": datetime.datetime.now().isoformat(timespec="seconds"), "seconds": round(seconds, 1)}
    out_file = out_dir / (path.stem + ".html")
    render(nb, out_file)
    if error is None:
        return {"ok": True, "seconds": seconds, "report": out_file}
    idx = failed.get("index")
    if idx is None:  # the kernel died or timed out: the first cell without an execution count
        idx = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not c.get("execution_count")), None)
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
    return {"ok": False, "seconds": seconds, "report": out_file, "message": f"{shown(path)} failed in {where}: {detail}"}


def write_index(out_dir):
    index_file = out_dir / "index.json"
    entries = json.loads(index_file.read_text()) if index_file.exists() else {}
    rows = []
    for name in sorted(entries):
        e = entries[name]
        status = "ok" if e["ok"] else "FAILED"
        rows.append(
            f"<tr><td><a href=\"{html.escape(name)}.html\">{html.escape(name)}</a></td><td>{html.escape(e['profile'])}</td>"
            f"<td>{html.escape(e['date'])}</td><td>{e['seconds']:.0f} s</td><td>{status}</td></tr>"
        )
    (out_dir / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>piat-ts reports</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left}</style></head><body>"
        "<h1>piat-ts: reproducing PIAT</h1><p>Rendered notebooks, their scale profile and run date.</p>"
        "<table><tr><th>notebook</th><th>profile</th><th>run</th><th>time</th><th>status</th></tr>"
        + "".join(rows)
        + "</table></body></html>\n",
        encoding="utf-8",
    )


def update_index(out_dir, name, profile, result):
    index_file = out_dir / "index.json"
    entries = json.loads(index_file.read_text()) if index_file.exists() else {}
    entries[name] = {"profile": profile, "date": datetime.datetime.now().isoformat(timespec="seconds"), "seconds": result["seconds"], "ok": result["ok"]}
    index_file.write_text(json.dumps(entries, indent=1))
    write_index(out_dir)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", help="notebook files (default: every notebooks/*.ipynb)")
    ap.add_argument("--profile", default=os.environ.get("PIAT_PROFILE", "quick"))
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("PIAT_CELL_TIMEOUT", "7200")), help="seconds per cell")
    ap.add_argument("--out", default=str(ROOT / "reports"))
    a = ap.parse_args()
    if a.profile not in PROFILES:
        fail(f"Unknown profile '{a.profile}'. Expected one of: {', '.join(PROFILES)}.")
    paths = [Path(p).resolve() for p in a.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for p in paths:
        if not p.exists():
            fail(f"No notebook {p}")
    if not (ROOT / "dist" / "src" / "index.js").exists():
        fail("The library is not built (dist/src/index.js missing): run 'npm run build' first.")
    os.environ["PIAT_PROFILE"] = a.profile
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    out_dir = Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = []
    for p in paths:
        print(f"[{a.profile}] {shown(p)} ...", file=sys.stderr, flush=True)
        r = run_one(p, a.profile, a.timeout, out_dir)
        update_index(out_dir, p.stem, a.profile, r)
        print(f"[{a.profile}] {shown(p)}: {'ok' if r['ok'] else 'FAILED'} in {r['seconds']:.0f} s -> {shown(r['report'])}", file=sys.stderr, flush=True)
        if not r["ok"]:
            failures.append(r["message"])
    for m in failures:
        print(f"\nFAILED: {m}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

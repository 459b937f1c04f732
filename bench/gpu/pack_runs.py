"""Packs the finished runs under RUNS into OUT for the trip back from the GPU machine
(bench/gpu/overfit-runs.sh calls it; bench/gpu/overfit-unpack.sh unpacks).

A run is packed when it finished (done.json) and, if its job evaluates it (listed in
EVALUATED, relative to RUNS), when both its Best and Final evaluations are cached; an evaluated run
also brings its Best and Final weights, whose checksums key those caches. The copy back from the
GPU machine takes at most 8 files of 16 MiB and 64 MiB in all: runs-small.tgz holds every packed run's records,
configs, states and caches and the job logs; weights.tar.part-* the weights, at most BUDGET_MIB in
all; an evaluated run whose weights no longer fit is left out whole, and the log says so.

usage: pack_runs.py RUNS EVALUATED OUT LOGS [BUDGET_MIB]
"""
import hashlib
import os
import sys
import tarfile

SMALL = ('records.jsonl', 'config.json', 'done.json', 'state.json', 'model.json')
PART = 15 * 2**20


def small_files(run):
    for d, dirs, files in os.walk(run):
        dirs[:] = [x for x in dirs if x in ('best', 'checkpoint', 'averaged')]
        for f in files:
            if f in SMALL or (f.startswith('eval-') and f.endswith('.json') and 'aa-state' not in f):
                yield os.path.join(d, f)


def final_dir(run):
    averaged = os.path.join(run, 'averaged')
    return averaged if os.path.exists(os.path.join(averaged, 'model.json')) else os.path.join(run, 'checkpoint')


def cached(run, weights):
    """Whether an evaluation of these weights is cached: pool.ts names it eval-<best|final>-<settings>-<weights' sha256[:12]>.json
    (Best and Final share one file when they are the same weights)."""
    with open(weights, 'rb') as f:
        key = hashlib.sha256(f.read()).hexdigest()[:12]
    return any(f.startswith('eval-') and f.endswith(f'-{key}.json') for f in os.listdir(run))


def main(runs, evaluated_file, out, logs, budget_mib=56):
    evaluated = set(l.strip() for l in open(evaluated_file) if l.strip()) if os.path.exists(evaluated_file) else set()
    out, logs = os.path.abspath(out), os.path.abspath(logs)
    os.chdir(runs)
    finished = sorted(os.path.relpath(d) for d, _, files in os.walk('.') if 'done.json' in files)
    keep, weights, budget = [], [], float(budget_mib) * 2**20
    for run in finished:
        if run not in evaluated:
            keep.append(run)
            continue
        files = [os.path.join(run, 'best', 'weights.bin'), os.path.join(final_dir(run), 'weights.bin')]
        if not all(os.path.exists(f) and cached(run, f) for f in files):
            print(f'left out {run}: finished, but not evaluated')
            continue
        size = sum(os.path.getsize(f) for f in files)
        if size > budget:
            print(f'left out {run}: its weights ({size / 2**20:.1f} MiB) exceed what is left of the budget')
            continue
        budget -= size
        keep.append(run)
        weights += files
    with tarfile.open(os.path.join(out, 'runs-small.tgz'), 'w:gz') as t:
        for run in keep:
            for f in small_files(run):
                t.add(f)
        t.add(logs, arcname='gpu-logs')
    big = os.path.join(out, 'weights.tar')
    with tarfile.open(big, 'w') as t:
        for f in weights:
            t.add(f)
    with open(big, 'rb') as src:
        for i, chunk in enumerate(iter(lambda: src.read(PART), b'')):
            with open(f'{big}.part-{i:02d}', 'wb') as dst:
                dst.write(chunk)
    os.remove(big)
    print(f'packed {len(keep)} finished runs ({len(weights) // 2} with weights) of {len(finished)}')


if __name__ == '__main__':
    main(*sys.argv[1:])

#!/usr/bin/env python3
"""Executes notebooks headlessly with the tslab kernel (Debian nbclient) and fails on any cell error.

tslab reports a failed cell only through the execute_reply status and a stderr stream (it sends no
`error` message), so each cell is checked for both: a non-ok reply, or any stderr output, fails the
notebook. Execution stops at the first failing cell (later cells depend on it). The executed copy
(with outputs) is written to the output directory even when a cell fails.

After a clean run the saved outputs are checked too (notebook_checks.py): every milkit output has
its PNG, HTML and text fallbacks, a PNG-only HTML export shows every figure, a notebook with
specific checks (03) must show what it promises, and the committed notebook must carry outputs of
the same kinds as the fresh run (the repository shows the figures; a changed output kind fails).
--update writes each cleanly executed notebook over its source (how the committed outputs are made).

Notebooks run in parallel (--jobs, default 2): each is one single-threaded kernel, so on 2 cores
two at a time halve the stage's wall time.

usage: run_notebooks.py OUT_DIR NOTEBOOK... [--timeout S] [--jobs N] [--update] [--stats FILE --stage NAME]
"""
import argparse
import os
from concurrent.futures import ProcessPoolExecutor
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from notebook_checks import check as check_outputs, check_kinds


def stderr_text(cell):
    return "".join(
        o.get("text", "")
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )


def run(path, out_dir, timeout, update=False):
    committed = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # a fresh run: the committed outputs must not leak into the executed copy
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = NotebookClient(nb, kernel_name="tslab", timeout=timeout, allow_errors=False,
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    problem = None
    t0 = time.time()
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    problem = (index, f"timed out after {timeout} s")
                except CellExecutionError:
                    problem = (index, "execute_reply status error")
                err = stderr_text(cell)
                if err:
                    problem = (index, (problem[1] + ": " if problem else "stderr: ") + err.strip())
                if problem:
                    break
    except Exception as exc:  # kernel died or could not start
        problem = (-1, f"{type(exc).__name__}: {exc}")
    seconds = time.time() - t0
    if problem is None:
        wrong = check_outputs(path, nb) + ([] if update else check_kinds(committed, nb))
        if wrong:
            problem = (-2, "outputs: " + "; ".join(wrong))
    os.makedirs(out_dir, exist_ok=True)
    nbformat.write(nb, os.path.join(out_dir, os.path.basename(path)))
    if update and problem is None:
        nbformat.write(nb, path)
    return problem, seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--stats")
    ap.add_argument("--stage", default="notebooks")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--update", action="store_true", help="write each clean run over its source notebook")
    args = ap.parse_args()
    passed = failed = 0
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run, path, args.out_dir, args.timeout, args.update) for path in args.notebooks]
        results = [f.result() for f in futures]
    for path, (problem, seconds) in zip(args.notebooks, results):
        name = os.path.basename(path)
        if problem is None:
            passed += 1
            print(f"PASS {name} ({seconds:.1f} s)", flush=True)
        else:
            failed += 1
            where = {-1: "kernel", -2: "saved outputs"}.get(problem[0], f"cell {problem[0]}")
            print(f"FAIL {name} ({seconds:.1f} s), {where}:\n{problem[1]}", flush=True)
    print(f"{passed} passed, {failed} failed ({time.time() - t0:.0f} s wall)")
    if args.stats:
        with open(args.stats, "a") as f:
            f.write(f"{args.stage} {passed} {failed}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

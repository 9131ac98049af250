"""Checks on an executed notebook's saved outputs: not just "it ran", but "it shows the right things".

Every notebook: each milkit output (application/vnd.milkit.*+json) carries a valid payload of its
kind, its figure as image/png (what GitHub and untrusted notebooks show), and text/html without
<svg> (JupyterLab's sanitiser strips it in untrusted notebooks) showing that same PNG (results
tables: the table itself, as text one can copy), and text/plain. The committed notebook carries
outputs of the same kinds as a fresh run (check_kinds), and an HTML export that allows only
image/png shows every figure (check_png_export).

03-reproduce-paper: every reproduction table either shows the committed results/<name>.json (same
rows, our means, the published column, the regenerating command) or, when the file is absent, a
visible "not measured yet ... run <command>" line; the βh sweep has its curve when measured; the
live colon part shows attention + class-aware heatmaps of both models with the instance labels, and
its summary table.

check(path_of_source_notebook, executed_notebook) -> list of problems (empty = fine).
"""
import json
import os
import re

MILKIT_MIME = re.compile(r"^application/vnd\.milkit\.(\w+)\+json$")


def displays(nb):
    """(cell index, data) of every display output, in order."""
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.get("output_type") in ("display_data", "execute_result"):
                yield i, o.get("data", {})


def payload(data, mime):
    p = data[mime]
    return json.loads(p) if isinstance(p, str) else p


# Every view carries its figure as image/png (a training view before its first point: its status line).
FIGURE_KINDS = {"attention", "masking", "training", "results", "slide"}
# Views whose HTML shows the figure's content as text (a table), not the PNG.
TEXT_KINDS = {"results"}


def milkit_kind(data):
    kinds = [m.group(1) for m in map(MILKIT_MIME.match, data) if m]
    return kinds[0] if kinds else None


def check_fallbacks(nb):
    problems = []
    for i, data in displays(nb):
        html = data.get("text/html", "")
        if "<svg" in html:
            problems.append(f"cell {i}: text/html carries <svg>, which untrusted notebooks strip (use the PNG)")
        png = data.get("image/png")
        if milkit_kind(data) in TEXT_KINDS:
            if "<table" not in html:
                problems.append(f"cell {i}: a results table without its HTML table")
        elif png and html and f'src="data:image/png;base64,{png}' not in html.replace("\n", ""):
            problems.append(f"cell {i}: the HTML does not show the output's image/png")
        if png and len(png) < 1000:
            problems.append(f"cell {i}: image/png of {len(png)} base64 characters: blank?")
        for mime in data:
            m = MILKIT_MIME.match(mime)
            if not m:
                continue
            p = payload(data, mime)
            if p.get("kind") != m.group(1) or not isinstance(p.get("version"), int):
                problems.append(f"cell {i}: {mime} payload has kind {p.get('kind')!r}, version {p.get('version')!r}")
            if m.group(1) in FIGURE_KINDS and not png:
                problems.append(f"cell {i}: {mime} without its figure as image/png")
            if "<img" not in html and "<table" not in html:
                problems.append(f"cell {i}: {mime} without an HTML (image/table) fallback")
            if not str(data.get("text/plain", "")).strip():
                problems.append(f"cell {i}: {mime} without a text/plain fallback")
    return problems


def output_kinds(nb):
    """Per code cell, what it shows: output types with their MIME types (stream names for text); runs
    of one stream count once (how a stream is split into messages depends on timing)."""
    kinds = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        seen = []
        for o in cell.get("outputs", []):
            t = o.get("output_type")
            k = f"stream:{o.get('name')}" if t == "stream" else f"{t}:{'+'.join(sorted(o.get('data', {})))}"
            if not (seen and seen[-1] == k and t == "stream"):
                seen.append(k)
        kinds.append(seen)
    return kinds


def check_kinds(committed, executed):
    """The committed notebook shows what a fresh run shows (kinds, not values: numbers and times vary)."""
    want, got = output_kinds(committed), output_kinds(executed)
    if not any(want):
        return [
            "the committed notebook carries no outputs: "
            "commit the executed copy (scripts/test-notebooks.sh --update)"
        ]
    problems = []
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            problems.append(
                f"code cell {i}: committed outputs {w}, a fresh run gives {g} (re-run with --update if intended)"
            )
    return problems


def check_png_export(nb):
    """A GitHub-style viewer: nbconvert's HTML export allowed only image/png and text/plain shows every figure."""
    import warnings

    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config({"NbConvertBase": {"display_data_priority": ["image/png", "text/plain"]}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "element ... not able to be represented" for outputs without either
        html, _ = HTMLExporter(config=config, exclude_input=True).from_notebook_node(nb)
    figures = sum(1 for _, d in displays(nb) if "image/png" in d)
    shown = html.count("<img src=\"data:image/png;base64,")
    if shown < figures:
        return [f"PNG-only HTML export shows {shown} of {figures} figures"]
    if "application/vnd.milkit" in html or "<svg" in html:
        return ["PNG-only HTML export shows raw milkit JSON or SVG"]
    return []


def _mean(cell):
    if cell is None:
        return None
    if isinstance(cell, dict):
        return cell["mean"]
    vals = [v for v in cell if v is not None and v == v]
    return sum(vals) / len(vals)


# The tables of notebook 03 (results/<name>.json) and whether a curve accompanies them when measured.
NB03_TABLES = ["musk1", "mnist-bags", "colon", "mhim-compare", "mhim-ablation", "mhim-teacher-init", "mhim-sweep"]


def check_nb03(source, nb):
    problems = []
    results_dir = os.path.join(os.path.dirname(os.path.abspath(source)), "..", "results")
    shown = list(displays(nb))
    tables = [
        (i, payload(d, "application/vnd.milkit.results+json"), d)
        for i, d in shown
        if "application/vnd.milkit.results+json" in d
    ]
    notices = [
        (i, str(d.get("text/plain", "")))
        for i, d in shown
        if milkit_kind(d) is None and "text/html" in d and "text/plain" in d
    ]
    committed = (
        sorted(f[:-5] for f in os.listdir(results_dir) if f.endswith(".json")) if os.path.isdir(results_dir) else []
    )
    for name in sorted(set(NB03_TABLES) | set(committed)):
        file = os.path.join(results_dir, f"{name}.json")
        if not os.path.exists(file):
            if not any(f"{name}.json is not there): run " in t for _, t in notices):
                problems.append(f"{name}: results file absent, but no 'not measured yet ... run <command>' line")
            continue
        with open(file) as f:
            r = json.load(f)
        # The shown rows: the file's, then any published-only rows appended by milkit-kernel.
        labels = [row["label"] for row in r["rows"]]
        match = [
            t
            for t in tables
            if f"Regenerate: {r['meta']['command']}" in t[1].get("caption", "")
            and [row["label"] for row in t[1]["rows"]][: len(labels)] == labels
        ]
        if not match:
            problems.append(f"{name}: results/{name}.json is committed but no table with its rows and command is shown")
            continue
        _, p, data = match[0]
        for row_file, row_shown in zip(r["rows"], p["rows"]):
            for j, col in enumerate(r["columns"]):
                want = _mean(row_file["cells"][j])
                cell = row_shown["cells"][p["columns"].index(col)]
                got = None if cell is None else cell["mean"]
                if (want is None) != (got is None) or (want is not None and abs(want - got) > 1e-3 * max(1, abs(want))):
                    problems.append(f"{name}: row {row_file['label']!r}, {col}: shown {got}, file {want}")
        for label, values in (r["meta"].get("published") or {}).get("values", {}).items():
            for col, v in values.items():
                row = next((x for x in p["rows"] if x["label"] == label), None)
                pc = f"{col} (published)"
                if row is None or pc not in p["columns"] or row["cells"][p["columns"].index(pc)]["mean"] != v:
                    problems.append(f"{name}: published {label} {col} = {v} not shown beside ours")
        if "Protocol: " not in data.get("text/html", "") or "Regenerate: " not in data.get("text/html", ""):
            problems.append(f"{name}: the table's HTML fallback lacks its protocol or command")
        curve = {"mhim-sweep": "vs βh", "mnist-bags": "vs bags"}.get(name)
        if curve and not any("image/png" in d and curve in str(d.get("text/plain", "")) for _, d in shown):
            problems.append(f"{name}: measured, but its curve is not shown")

    heatmaps = [
        (i, payload(d, "application/vnd.milkit.attention+json"), d)
        for i, d in shown
        if "application/vnd.milkit.attention+json" in d
    ]
    models = {p.get("title", "").split(",")[0] for _, p, _ in heatmaps}
    if len(heatmaps) < 4 or not {"AB-MIL", "MHIM-v2(AB-MIL)"} <= models:
        problems.append(
            "live part: expected attention heatmaps of AB-MIL and MHIM-v2(AB-MIL) on at least 2 bags, "
            f"got {len(heatmaps)} ({sorted(models)})"
        )
    for i, p, d in heatmaps:
        n = p["n"]
        if not (
            p.get("attention")
            and p.get("probability")
            and len(p.get("instanceLabels", [])) == n
            and len(p.get("coords", [])) == 2 * n
        ):
            problems.append(
                f"cell {i}: heatmap of {p['bagId']} lacks attention, probability, instance labels or coordinates"
            )
        if "image/png" not in d:
            problems.append(f"cell {i}: the heatmap of {p['bagId']} has no image/png")
        if "instance AUC of attention" not in p.get("title", "") or "known positive instance" not in d.get(
            "text/html", ""
        ):
            problems.append(f"cell {i}: heatmap of {p['bagId']} without its instance AUCs or the instance-label legend")
    summary = [p for _, p, _ in tables if p.get("title", "").startswith("Colon, fold 1 of 4")]
    if (
        not summary
        or [r["label"] for r in summary[0]["rows"]] != ["AB-MIL", "MHIM-v2(AB-MIL)"]
        or len(summary[0]["columns"]) != 3
    ):
        problems.append(
            "live part: the colon summary table (bag AUC, instance AUC of both maps) is missing or malformed"
        )
    trained = [
        payload(d, "application/vnd.milkit.training+json")
        for _, d in shown
        if "application/vnd.milkit.training+json" in d
    ]
    if len(trained) != 2 or not all(t["done"] for t in trained):
        problems.append(f"live part: expected 2 finished training displays, got {[t['done'] for t in trained]}")
    return problems


def check_nb06(source, nb):
    """Both models' attention over one image side by side (one slide view, two maps, one figure),
    and the whole-slide view of CMU-1; each names its slide file so the view can fetch patches."""
    problems = []
    mime = "application/vnd.milkit.slide+json"
    slides = [(i, payload(d, mime), d) for i, d in displays(nb) if mime in d]
    names = [[m["name"] for m in p.get("maps", [])] for _, p, _ in slides]
    if names.count(["AB-MIL", "MHIM-v2(AB-MIL)"]) != 1:
        problems.append(f"section 4: expected one slide view of AB-MIL and MHIM-v2(AB-MIL) side by side, got {names}")
    for i, p, _ in slides:
        n = len(p["coords"]) // 2
        if not p.get("source") or any(len(m["scores"]) != n or not m["patches"] for m in p["maps"]):
            problems.append(f"cell {i}: slide view of {p['slideId']} without its source, scores or top patches per map")
    if not any(p["slideId"] == "CMU-1-Small-Region" for _, p, _ in slides):
        problems.append("section 6: no slide view of CMU-1-Small-Region")
    return problems


NOTEBOOK_CHECKS = {"03-reproduce-paper.ipynb": check_nb03, "06-slide-to-heatmap.ipynb": check_nb06}


def check(source, nb):
    problems = check_fallbacks(nb) + check_png_export(nb)
    extra = NOTEBOOK_CHECKS.get(os.path.basename(source))
    if extra:
        problems += extra(source, nb)
    return problems

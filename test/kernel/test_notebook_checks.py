#!/usr/bin/env python3
"""The saved-output checks (notebook_checks.py) catch what they promise: a committed results file
shown as "not measured yet", a missing file without its notice, a table whose numbers differ from the
file, a published number left out, a milkit output without fallbacks. Run by scripts/test-notebooks.sh
before the notebooks (under a second)."""
import json
import os
import sys
import tempfile
import unittest

import nbformat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from notebook_checks import NB03_TABLES, check, check_fallbacks, check_kinds, check_nb03, check_png_export  # noqa: E402

RESULTS_MIME = "application/vnd.milkit.results+json"
MUSK = {
    "format": "milkit-reproduction", "version": 1, "name": "musk1", "columns": ["accuracy"],
    "rows": [{"label": "AB-MIL", "cells": [[0.86, 0.88]]}],
    "meta": {"command": "npm run reproduce:musk1", "protocol": "5 x 10-fold",
             "published": {"source": "Ilse 2018", "values": {"AB-MIL": {"accuracy": 0.892}}}},
}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def display(data):
    return nbformat.v4.new_output("display_data", data=data)


def table_output(mean=0.87, published=0.892, command="npm run reproduce:musk1"):
    payload = {"version": 1, "kind": "results", "columns": ["accuracy", "accuracy (published)"],
               "rows": [{"label": "AB-MIL", "cells": [{"mean": mean}, {"mean": published}]}],
               "caption": f"Protocol: 5 x 10-fold · Regenerate: {command}"}
    return display(
        {RESULTS_MIME: payload, "text/html": f"<table></table>Protocol: x Regenerate: {command}", "text/plain": "MUSK1"}
    )


def notice(name):
    return display(
        {
            "text/html": "<div>…</div>",
            "text/plain": f"{name}: not measured yet (/r/{name}.json is not there): run make {name}",
        }
    )


class Nb03Checks(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = self.tmp.name
        os.makedirs(os.path.join(root, "notebooks"))
        os.makedirs(os.path.join(root, "results"))
        self.source = os.path.join(root, "notebooks", "03-reproduce-paper.ipynb")
        self.results = os.path.join(root, "results")

    def tearDown(self):
        self.tmp.cleanup()

    def problems(self, outputs):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("")
        cell.outputs = outputs
        nb.cells = [cell]
        # Only the results-table problems matter here (the live part is absent in these notebooks).
        return [p for p in check_nb03(self.source, nb) if not p.startswith("live part") and "heatmap" not in p]

    def commit_musk(self):
        write_json(os.path.join(self.results, "musk1.json"), MUSK)

    def test_missing_files_need_their_notice(self):
        self.assertEqual(self.problems([notice(n) for n in NB03_TABLES]), [])
        left_out = self.problems([notice(n) for n in NB03_TABLES if n != "colon"])
        self.assertEqual(len(left_out), 1)
        self.assertIn("colon: results file absent", left_out[0])

    def test_a_committed_file_must_be_shown_as_its_table(self):
        self.commit_musk()
        others = [notice(n) for n in NB03_TABLES if n != "musk1"]
        self.assertEqual(self.problems(others + [table_output()]), [])
        self.assertIn("no table with its rows and command", self.problems(others + [notice("musk1")])[0])
        self.assertIn("shown 0.5, file 0.87", self.problems(others + [table_output(mean=0.5)])[0])
        self.assertIn(
            "published AB-MIL accuracy = 0.892 not shown", self.problems(others + [table_output(published=0.9)])[0]
        )

    def test_an_unexpected_committed_file_is_checked_too(self):
        write_json(
            os.path.join(self.results, "catalogue.json"),
            {**MUSK, "name": "catalogue", "meta": {**MUSK["meta"], "command": "make catalogue"}},
        )
        base = [notice(n) for n in NB03_TABLES]
        self.assertIn("catalogue: results/catalogue.json is committed", self.problems(base)[0])
        self.assertEqual(self.problems(base + [table_output(command="make catalogue")]), [])


class FallbackChecks(unittest.TestCase):
    def test_milkit_outputs_need_html_and_text(self):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("")
        cell.outputs = [display({RESULTS_MIME: {"version": 1, "kind": "results", "columns": [], "rows": []}})]
        nb.cells = [cell]
        problems = check_fallbacks(nb)
        # No PNG, no HTML table, no HTML fallback, no text.
        self.assertEqual(len(problems), 4, problems)
        wrong_kind = json.dumps({"version": 1, "kind": "attention"})
        cell.outputs = [display({RESULTS_MIME: wrong_kind, "text/html": "<table>", "text/plain": "t"})]
        self.assertIn("kind 'attention'", check_fallbacks(nb)[0])
        self.assertEqual(check("/x/01-mil-basics.ipynb", nbformat.v4.new_notebook()), [])

    def test_figures_travel_as_png_not_svg(self):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("")
        nb.cells = [cell]
        mime = "application/vnd.milkit.attention+json"
        p = {"version": 1, "kind": "attention"}
        png = "iVBORw0KGgo" + "A" * 2000
        cell.outputs = [display({mime: p, "text/html": "<div><svg></svg></div>", "text/plain": "t"})]
        problems = check_fallbacks(nb)
        self.assertTrue(
            any("<svg>" in x for x in problems) and any("without its figure" in x for x in problems), problems
        )
        html = f'<img src="data:image/png;base64,{png}">'
        cell.outputs = [display({mime: p, "image/png": png, "text/html": html, "text/plain": "t"})]
        self.assertEqual(check_fallbacks(nb), [])
        self.assertEqual(check_png_export(nb), [])
        cell.outputs = [display({mime: p, "image/png": png, "text/html": "<img src='other'>", "text/plain": "t"})]
        self.assertIn("does not show the output's image/png", check_fallbacks(nb)[0])

    def test_tables_carry_a_png_and_show_the_table_as_html(self):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("")
        nb.cells = [cell]
        p = {"version": 1, "kind": "results", "columns": ["auc"], "rows": []}
        png = "iVBORw0KGgo" + "A" * 2000
        cell.outputs = [display({RESULTS_MIME: p, "image/png": png, "text/html": "<table></table>", "text/plain": "t"})]
        self.assertEqual(check_fallbacks(nb), [])
        cell.outputs = [display({RESULTS_MIME: p, "text/html": "<table></table>", "text/plain": "t"})]
        self.assertIn("without its figure as image/png", check_fallbacks(nb)[0])
        img = f'<img src="data:image/png;base64,{png}">'
        cell.outputs = [display({RESULTS_MIME: p, "image/png": png, "text/html": img, "text/plain": "t"})]
        self.assertIn("without its HTML table", check_fallbacks(nb)[0])


class KindChecks(unittest.TestCase):
    def nb(self, *cells):
        nb = nbformat.v4.new_notebook()
        nb.cells = []
        for outputs in cells:
            c = nbformat.v4.new_code_cell("")
            c.outputs = outputs
            nb.cells.append(c)
        return nb

    def test_kinds_must_match_values_may_differ(self):
        stream = lambda t: nbformat.v4.new_output("stream", name="stdout", text=t)  # noqa: E731
        shown = display({"image/png": "x", "text/plain": "a"})
        committed = self.nb([stream("AUC 0.91\n")], [shown])
        self.assertEqual(check_kinds(committed, self.nb([stream("AUC 0.93\n"), stream("more\n")], [shown])), [])
        changed = check_kinds(committed, self.nb([stream("x")], [display({"text/plain": "a"})]))
        self.assertEqual(len(changed), 1)
        self.assertIn("code cell 1", changed[0])
        self.assertIn("carries no outputs", check_kinds(self.nb([], []), committed)[0])


if __name__ == "__main__":
    unittest.main(verbosity=1)

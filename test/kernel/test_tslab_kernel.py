#!/usr/bin/env python3
"""Jupyter protocol test of the tslab kernel as milkit uses it (Debian's jupyter_kernel_test).

Run through scripts/test-kernel.sh (it sets up the repo-local kernelspec and the working directory,
the repository root, whose node_modules holds tslab, milkit and milkit-kernel).
tslab's kernel_info_reply has no `status` field, so the stock test_kernel_info is replaced. The
stock tests of messages tslab never sends are skipped, each with its reason (NOT_IN_TSLAB, read from
tslab's dist/jupyter.js: its shell answers kernel_info, execute, is_complete, inspect, complete,
comm_info and shutdown requests; its iopub sends status, stream, display_data, update_display_data).
A skip without a reason counts as a failure: the summary must say why every skipped test did not run.
"""
import os
import sys
import unittest

import jupyter_kernel_test

# The PNG lets image-only viewers (GitHub, an untrusted notebook) show the table too.
MILKIT_MIMES = ["application/vnd.milkit.results+json", "image/png", "text/html", "text/plain"]

NOT_IN_TSLAB = {
    "test_execute_result": "tslab prints a cell's last value to stdout (console.log), never as execute_result "
    "(test_last_value_goes_to_stdout checks that)",
    "test_history": "tslab does not answer history_request",
    "test_error": "tslab reports a failing cell as a stderr stream and status=error, never as an error message "
    "(test_error_is_reported_in_reply_and_stderr checks that)",
    "test_pager": "tslab's execute_reply has no payload, so nothing is ever paged",
    "test_clear_output": "tslab never sends clear_output",
}


def _skipped(reason):
    def test(self):
        self.skipTest(reason)

    return test


class TslabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "tslab"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'
    completion_samples = [{"text": "Math.ab", "matches": {"abs"}}]
    complete_code_samples = ["const a = 1;", "function f() { return 1; }"]
    incomplete_code_samples = ["function f() {", "const a = [1,"]
    code_inspect_sample = "Math.max"
    code_display_data = [
        {"code": 'import * as tslab from "tslab"; tslab.display.html("<b>hi</b>")', "mime": "text/html"},
        {
            "code": 'import * as tslab from "tslab"; tslab.display.raw("application/vnd.milkit.test+json", "{}")',
            "mime": "application/vnd.milkit.test+json",
        },
    ]

    def test_kernel_info(self):
        self.flush_channels()
        msg_id = self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=10)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        content = reply["content"]
        self.assertEqual(content["implementation"], "tslab")
        self.assertEqual(content["language_info"]["name"], "typescript")
        self.assertTrue(content["protocol_version"].startswith("5."))

    def execute(self, code, timeout=60):
        """Runs code; returns (reply content, iopub messages of this request)."""
        self.flush_channels()
        msg_id = self.kc.execute(code)
        reply = self.kc.get_shell_msg(timeout=timeout)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        messages = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return reply["content"], messages

    def assertOk(self, reply, msgs):
        err = "".join(
            m["content"].get("text", "")
            for m in msgs
            if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"
        )
        self.assertEqual(reply["status"], "ok", err)

    def test_milkit_bundle_has_every_mime_type(self):
        """show.results sends ONE display_data carrying the milkit JSON plus PNG, HTML and text fallbacks."""
        reply, msgs = self.execute('import { show } from "milkit-kernel";\n'
                                   'show.results({ "AB-MIL": { auc: [0.9, 0.92, 0.94] } }, { title: "t" });')
        self.assertOk(reply, msgs)
        displays = [m for m in msgs if m["msg_type"] == "display_data"]
        self.assertEqual(len(displays), 1)
        data = displays[0]["content"]["data"]
        self.assertEqual(sorted(data), sorted(MILKIT_MIMES))
        payload = data["application/vnd.milkit.results+json"]
        self.assertIsInstance(payload, dict, "the JSON travels as an object, not a string")
        self.assertEqual(payload["version"], 1)
        self.assertAlmostEqual(payload["rows"][0]["cells"][0]["mean"], 0.92)
        self.assertIn("0.920 ± 0.020", data["text/plain"])

    def test_live_display_updates_in_place(self):
        """A LiveDisplay sends display_data once, then update_display_data with the same display_id."""
        reply, msgs = self.execute('import { LiveDisplay, toBundle } from "milkit-kernel";\n'
                                   'import { resultsView } from "milkit/core";\n'
                                   'const live = new LiveDisplay(0);\n'
                                   'for (const v of [0.5, 0.6, 0.7])\n'
                                   '  live.update(toBundle("results", resultsView({ columns: ["auc"], '
                                   'rows: [{ label: "x", cells: [[v]] }] })));')
        self.assertOk(reply, msgs)
        kinds = [m["msg_type"] for m in msgs if m["msg_type"] in ("display_data", "update_display_data")]
        self.assertEqual(kinds, ["display_data", "update_display_data", "update_display_data"])
        ids = {m["content"]["transient"]["display_id"] for m in msgs if m["msg_type"].endswith("display_data")}
        self.assertEqual(len(ids), 1)

    def test_error_is_reported_in_reply_and_stderr(self):
        """What the notebook runner relies on: a failing cell gives status=error and a stderr stream."""
        reply, msgs = self.execute('throw new Error("milkit-boom")')
        self.assertEqual(reply["status"], "error")
        err = "".join(
            m["content"].get("text", "")
            for m in msgs
            if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"
        )
        self.assertIn("milkit-boom", err)

    def test_last_value_goes_to_stdout(self):
        """What tslab does instead of execute_result: the last expression's value is printed."""
        reply, msgs = self.execute("const answer = 6 * 7;\nanswer")
        self.assertOk(reply, msgs)
        streams = [m["content"] for m in msgs if m["msg_type"] == "stream"]
        out = "".join(c["text"] for c in streams if c["name"] == "stdout")
        self.assertEqual(out.strip(), "42")
        self.assertFalse([m for m in msgs if m["msg_type"] == "execute_result"])

    def test_type_error_fails_the_cell(self):
        reply, msgs = self.execute('const n: number = "not a number";')
        self.assertEqual(reply["status"], "error")


for _name, _reason in NOT_IN_TSLAB.items():
    setattr(TslabKernelTests, _name, _skipped(_reason))


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(TslabKernelTests)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    # A skip that gives no reason hides why a test did not run (a new stock test, say): a failure.
    unexplained = [test for test, reason in result.skipped if not reason.strip()]
    for test in unexplained:
        print(f"FAIL: {test.id()} was skipped without a reason: add it to NOT_IN_TSLAB with one, or run it")
    skipped = [(test, reason) for test, reason in result.skipped if reason.strip()]
    failed = len(result.failures) + len(result.errors) + len(unexplained)
    passed = result.testsRun - len(result.failures) - len(result.errors) - len(result.skipped)
    print(f"{passed} passed, {failed} failed, {len(skipped)} skipped")
    for test, reason in skipped:
        print(f"  skipped {test.id()}: {reason}")
    stats = os.environ.get("MILKIT_STATS")
    if stats:
        with open(stats, "a") as f:
            stage = os.environ.get("MILKIT_STAGE", "kernel")
            f.write(f"{stage} {passed} {failed} {len(skipped)}\n")
            for test, reason in skipped:
                f.write(f"#skip {stage} | {test.id()} | {reason}\n")
    return 0 if result.wasSuccessful() and not unexplained and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())

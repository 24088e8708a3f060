"""Runs example scripts one after another in this Python process, as `python SCRIPT`.

Usage: python run_examples.py RESULTS.json PLAN.json

PLAN.json is a list of `[script, output_dir, [arguments...]]`. Each script runs
with `runpy` as `__main__`, its working directory the parent of its output folder
and `sys.argv` as a user would type it; its Python-level stdout and stderr are
captured. After each, `RESULTS.json` is rewritten with `{script name: {"returncode",
"stdout", "stderr"}}` (an uncaught exception is returncode 1 with its traceback).
Keras's session and dtype policy are reset between scripts. A script that sets
logical devices must come first: that needs an uninitialised TensorFlow runtime.
"""

import contextlib
import io
import json
import os
import pathlib
import runpy
import sys
import traceback


def run_one(script: str, output_dir: str, arguments: list[str]) -> dict:
    out, err = io.StringIO(), io.StringIO()
    os.chdir(pathlib.Path(output_dir).parent)
    sys.argv = [script, *arguments]
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(bool(exit_.code))
        except BaseException:  # reported to the test, which fails on it
            traceback.print_exc()
            code = 1
    return {"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main(results_path: str, plan_path: str) -> None:
    import keras

    results = {}
    for script, output_dir, arguments in json.loads(
        pathlib.Path(plan_path).read_text()
    ):
        results[pathlib.Path(script).name] = run_one(script, output_dir, arguments)
        keras.backend.clear_session()
        keras.config.set_dtype_policy("float32")
        pathlib.Path(results_path).write_text(json.dumps(results))


if __name__ == "__main__":
    main(*sys.argv[1:])

"""The documentation runs: README's Python blocks and the shell commands of the docs.

Each block or command runs as written, with tiny settings substituted where it
would train for minutes (every substitution must apply, so a changed block fails
here instead of drifting). Commands that cannot run offline are listed in
`EXCLUDED` with the reason; any other command fails the test until it is run
or listed.
"""

import contextlib
import io
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

from keras_genmodels import cli
from tests.test_case import REPO, subprocess_env

README = REPO / "README.md"
SHELL_DOCS = [README, REPO / "docs" / "serving.md", REPO / "docs" / "migration.md"]

# README's Python blocks: (old, new) replacements, each must occur.
PYTHON_TINY = [  # a few batches of the 8x8 digits, one epoch
    (
        'train, test = data.load_dataset("mnist5k", batch_size=128)',
        "train, test = (d.take(3) for d in "
        'data.load_dataset("digits", batch_size=128))',
    ),
    (
        'train, test = data.load_dataset("mnist5k", batch_size=64)',
        "train, test = (d.take(3) for d in "
        'data.load_dataset("digits", batch_size=64))',
    ),
    ('"mnist5k"', '"digits"'),
    ("data_shape=(28, 28, 1)", "data_shape=(8, 8, 1)"),
    ("epochs=30", "epochs=1"),
    ("epochs=10", "epochs=1"),
    ("epochs=20", "epochs=1"),
    ("num_samples=1000", "num_samples=5"),
    ("num_samples=2000", "num_samples=60"),
    ("iwae_samples=1000", "iwae_samples=5"),
]

# Shell commands that need what a test cannot have: command prefix -> reason.
EXCLUDED = {
    "python -m pip install": "installs from PyPI (the test runs the checkout)",
    "python -m pytest": "runs this test suite itself",
    "TF_CONFIG=": "multi-worker training needs the cluster's other machines",
    "tensorflow_model_server": "TF Serving is not installable from PyPI",
    "docker run": "needs Docker and the tensorflow/serving image",
    "curl": "needs a running TF Serving",
    "predict()": "a shell function around curl (needs a running TF Serving)",
    "}": "the end of that shell function",
    "image=": "input of the curl requests below it",
    "python -c": "its output is piped into curl (`| predict`)",
    "echo": "its output is piped into curl (`| predict`)",
    "python examples/serving_client.py saved_models/vae/1": "sends to a running "
    "TF Serving (the --dry-run line above it runs here)",
}

TRAIN_TINY = ["--dataset", "digits", "--epochs", "1", "--latent-dim", "2"]
TRAIN_TINY += ["--iwae-samples", "5", "--verbose", "0"]
RUN = "runs/vae-20260101-120000"  # the run folder README's export command names


def _blocks(path, languages):
    text = pathlib.Path(path).read_text(encoding="utf-8")
    pattern = r"^```(" + "|".join(languages) + r")\n(.*?)^```"
    return [m.group(2) for m in re.finditer(pattern, text, re.M | re.S)]


def _commands(path):
    """Each shell command of `path`'s bash blocks, continuations joined, && split."""
    commands = []
    for block in _blocks(path, ["bash", "sh", "shell"]):
        block = re.sub(r"\\\n\s*", " ", block)
        pending = ""
        for line in block.splitlines():
            line = f"{pending} {line.strip()}".strip()
            if not line or line.startswith("#"):
                continue
            try:
                shlex.split(line, comments=True)
            except ValueError:  # a quote spans lines: read on
                pending = line
                continue
            pending = ""
            commands.extend(" ".join(part.split()) for part in line.split(" && "))
    return commands


def test_readme_python_blocks_run(tmp_path):
    code = "\n\n".join(_blocks(README, ["python"]))
    for old, new in PYTHON_TINY:
        assert old in code, f"substitution {old!r} no longer applies"
        code = code.replace(old, new)
    code += (
        "\nassert type(vae).__name__ == 'VAE' and images.shape == (16, 8, 8, 1)\n"
        "assert log_px.shape == (len(arrays.x_test),)\n"
        "assert report['fid'] > 0 and 0 <= report['precision'] <= 1\n"
        "print('ran', flush=True)\n"
    )
    env = subprocess_env(KERAS_GENMODELS_HOME=str(tmp_path / "home"))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip().splitlines()[-1] == "ran"
    assert (tmp_path / "vae.keras").is_file()


def _run_keras_genmodels(argv):
    """Runs `keras-genmodels ARGV` in this process (the same entry point)."""
    if argv[:2] == ["train", "vae"]:
        argv = [*argv, *TRAIN_TINY]
        if "--output-dir" not in argv:
            argv += ["--output-dir", RUN]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    assert code == 0, (argv, err.getvalue()[-3000:])
    if argv[:2] == ["train", "vae"]:  # the other run and file the docs name
        shutil.copytree(RUN, "runs/vae-20250101-120000")
        shutil.copy(f"{RUN}/model.keras", "model.keras")
    return out.getvalue()


def test_shell_commands_of_the_docs_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KERAS_GENMODELS_HOME", str(tmp_path / "home"))
    ran, excluded = [], []
    for path in SHELL_DOCS:
        for command in _commands(path):
            if any(command.startswith(prefix) for prefix in EXCLUDED):
                excluded.append(command)
                continue
            argv = shlex.split(command, comments=True)
            if argv[0] == "keras-genmodels":
                _run_keras_genmodels(argv[1:])
            elif argv[:3] == ["python", "-m", "keras_genmodels.presets"]:
                from keras_genmodels.presets.__main__ import main as presets_main

                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    assert presets_main(argv[3:]) == 0, command
                assert "gan_mnist5k: " in out.getvalue(), command
            elif argv[:2] == ["python", "examples/serving_client.py"]:
                result = subprocess.run(
                    [sys.executable, str(REPO / argv[1]), *argv[2:]],
                    env=subprocess_env(),
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert result.returncode == 0, (command, result.stderr[-3000:])
                assert result.stdout.startswith("POST http://localhost:8501/")
                assert "run in-process:" in result.stdout
            else:
                raise AssertionError(f"{path.name}: run or exclude {command!r}")
            ran.append(command)
            promised = re.search(r"#\s*->\s*(\S+)", command)
            if promised:  # "# -> saved_models/vae/1": the documented result
                assert pathlib.Path(promised.group(1)).exists(), command
    assert len(ran) >= 8, ran
    # every exclusion is still used, so the list cannot outlive the docs
    for prefix in EXCLUDED:
        assert any(c.startswith(prefix) for c in excluded), prefix
    assert os.path.isfile("grid.png") and os.path.isdir("saved_models/vae/7")

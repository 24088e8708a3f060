"""Smoke tests of examples/: each script runs with tiny settings and writes its files.

The examples run one after another in one child Python (`tests/scripts/
run_examples.py`: each as `__main__` with the command line a user would type,
its own scratch folder as working directory), started when the first of these
tests asks for a result; one process saves a TensorFlow start-up per example.
`serving_client.py` is run by tests/test_serving_client.py (without a server,
and with --dry-run).
"""

import ast
import json
import pathlib
import re
import subprocess
import sys

import pytest

from tests.test_case import subprocess_env

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"
RUNNER = ROOT / "tests" / "scripts" / "run_examples.py"
NOT_SMOKE_TESTED = {"serving_client.py": "tests/test_serving_client.py runs it"}

# example -> (extra arguments, files it must write under --output-dir)
EXAMPLES = {
    "wgan_gp.py": ([], ["samples.png", "history.png", "model.keras"]),
    "distributed_training.py": ([], ["samples.png", "history.png", "model.keras"]),
    "vae_mnist.py": (
        [],
        [
            "model.keras",
            "history.png",
            "samples.png",
            "reconstructions.png",
            "metrics.json",
        ],
    ),
    "beta_vae_latent_traversal.py": (
        [],
        ["traversal.png", "history.png", "model.keras"],
    ),
    "gan_mnist.py": ([], ["samples.png", "history.png", "model.keras"]),
    "vqvae_mnist.py": (
        [],
        ["samples.png", "reconstructions.png", "metrics.json", "model.keras"],
    ),
    "conditional_gan.py": ([], ["samples.png", "history.png", "model.keras"]),
    "export_and_serve.py": (
        ["--model", "vae"],
        ["served_samples.png", "saved_models/vae/1/saved_model.pb"],
    ),
    "article_modernised.py": (
        [],
        ["vae_samples.png", "vae_reconstructions.png", "gan_samples.png"],
    ),
}
PUBLIC_MODULES = {
    "keras_genmodels",
    "keras_genmodels.data",
    "keras_genmodels.gan.losses",
    "keras_genmodels.distribute",
    "keras_genmodels.plots",
    "keras_genmodels.callbacks",
    "keras_genmodels.export",
}
TIMEOUT = 600
RUN_TEST = "test_example_runs_with_tiny_settings"
FIRST = "distributed_training.py"  # sets logical devices: before any tensor exists


@pytest.fixture(scope="module")
def example_runs(request, tmp_path_factory):
    """Runs the selected examples in one child; name -> (result, folder, stderr)."""
    selected = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if (  # doctest items have neither attribute
            getattr(item, "module", None) is request.module
            and getattr(item, "originalname", None) == RUN_TEST
        ):
            selected.add(callspec.params["name"])
    root = tmp_path_factory.mktemp("examples")
    folders = {name: root / name.removesuffix(".py") for name in selected}
    plan = [
        # cwd is a scratch folder, so a default output path could never land in
        # the repository.
        [
            str(EXAMPLES_DIR / name),
            str(folders[name]),
            ["--quick", "--epochs", "1", "--output-dir", str(folders[name])]
            + EXAMPLES[name][0],
        ]
        for name in sorted(selected, key=lambda name: (name != FIRST, name))
    ]
    plan_file, results_file = root / "plan.json", root / "results.json"
    plan_file.write_text(json.dumps(plan))
    done = subprocess.run(
        [sys.executable, str(RUNNER), str(results_file), str(plan_file)],
        cwd=root,
        env=subprocess_env(TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    results = json.loads(results_file.read_text()) if results_file.is_file() else {}
    return {
        name: (results.get(name), folders[name], done.stderr[-3000:])
        for name in selected
    }


def test_every_example_is_smoke_tested_and_listed_in_the_readme():
    scripts = {path.name for path in EXAMPLES_DIR.glob("*.py")}
    assert scripts == set(EXAMPLES) | set(NOT_SMOKE_TESTED)
    readme = (EXAMPLES_DIR / "README.md").read_text()
    for script in scripts:
        assert f"examples/{script}" in readme, script


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_has_a_header_and_imports_only_the_public_api(name):
    tree = ast.parse((EXAMPLES_DIR / name).read_text())
    header = ast.get_docstring(tree)
    for field in ("Title:", "Author: keras_genmodels contributors", "Description:"):
        assert field in header, (name, field)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):  # `from a.b import c`: a.b.c or a.b
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                imported.add(child if child in PUBLIC_MODULES else node.module)
    ours = {module for module in imported if module.startswith("keras_genmodels")}
    assert ours <= PUBLIC_MODULES, (name, ours - PUBLIC_MODULES)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_runs_with_tiny_settings(name, example_runs):
    result, output_dir, runner_stderr = example_runs[name]
    assert result is not None, f"the runner ended before {name}:\n{runner_stderr}"
    assert result["returncode"] == 0, (
        f"{name} exited with {result['returncode']}\n"
        f"stdout:\n{result['stdout'][-3000:]}\nstderr:\n{result['stderr'][-3000:]}"
    )
    stdout = result["stdout"]
    for relative in EXAMPLES[name][1]:
        path = output_dir / relative
        assert path.is_file() and path.stat().st_size > 0, (name, relative)
    if name == "export_and_serve.py":
        # The signatures a server would list, printed with their tensor names.
        assert re.search(r"signature 'serving_default'\n\s+input\s+x:", stdout)
        assert re.search(r"output images: float32", stdout)
        # Served `sample` equals in-memory `vae.sample` for the same seed.
        match = re.search(r"max \|difference\| = (\S+)", stdout)
        assert match and float(match.group(1)) < 1e-5, stdout[-2000:]

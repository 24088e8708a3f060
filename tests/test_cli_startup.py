"""The command line starts fast and quietly; the package registers its models."""

import statistics
import subprocess
import sys
import time

import pytest

from tests.test_case import subprocess_env


def _env():
    env = subprocess_env()
    env.pop("TF_CPP_MIN_LOG_LEVEL")  # the command's own quieting is under test
    return env


def _python(*args, cwd=None):
    return subprocess.run(
        [sys.executable, *args],
        env=_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [[], ["train", "vae"], ["sample"], ["evaluate"]])
def test_help_imports_no_tensorflow(command):
    result = _python("-X", "importtime", "-m", "keras_genmodels", *command, "--help")
    assert result.returncode == 0
    assert "usage: keras-genmodels" in result.stdout
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines()]
    assert "keras_genmodels.cli.main" in imported
    heavy = {"tensorflow", "keras", "tensorflow_probability", "matplotlib"}
    assert not heavy & set(imported)


def test_help_is_fast_and_silent():
    seconds, outputs = [], []
    for _ in range(3):
        started = time.perf_counter()
        result = _python("-m", "keras_genmodels", "train", "gan", "--help")
        seconds.append(time.perf_counter() - started)
        outputs.append(result)
    assert all(r.returncode == 0 and r.stderr == "" for r in outputs)
    assert "--loss" in outputs[0].stdout
    print(f"--help: {statistics.median(seconds):.2f} s (median of 3)")
    assert min(seconds) < 1.5  # the minimum: robust to other processes' load


def test_library_import_registers_the_models_for_keras_load_model(tmp_path):
    from keras_genmodels import VAE

    VAE(data_shape=(4,), latent_dim=2).save(tmp_path / "vae.keras")
    fresh = "import keras, keras_genmodels\n"
    fresh += "print(type(keras.saving.load_model('vae.keras')).__name__)\n"
    result = _python("-c", fresh, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["VAE"]
    # Without the package's import Keras cannot know the class: the reason for
    # keras_genmodels.load_model, which imports the families itself.
    lazy = (
        "import sys\n"
        "sys.argv[0] = 'keras-genmodels'  # the command line's lazy mode\n"
        "import keras, keras_genmodels\n"
        "assert 'keras_genmodels.vae' not in sys.modules\n"
        "try:\n"
        "    keras.saving.load_model('vae.keras')\n"
        "except TypeError as err:\n"
        "    print('refused:', 'VAE' in str(err))\n"
        "print(type(keras_genmodels.load_model('vae.keras')).__name__)\n"
    )
    result = _python("-c", lazy, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["refused:", "True", "VAE"]


def test_public_names_resolve_lazily():
    code = (
        "import sys\n"
        "sys.argv[0] = 'keras-genmodels'\n"
        "import keras_genmodels\n"
        "print('tensorflow' in sys.modules)\n"
        "print(keras_genmodels.GAN.__name__, 'tensorflow' in sys.modules)\n"
        "print(sorted(set(keras_genmodels.__all__) - set(dir(keras_genmodels))))\n"
        "try:\n"
        "    keras_genmodels.NoSuchModel\n"
        "except AttributeError as err:\n"
        "    print(err)\n"
    )
    result = _python("-c", code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == [
        "False",
        "GAN True",
        "[]",
        "module 'keras_genmodels' has no attribute 'NoSuchModel'",
    ]

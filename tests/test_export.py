"""Versioned, atomic SavedModel export: layout, versions, and every failure path."""

import json
import os
import pathlib
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import VAE, export
from keras_genmodels.export import export_saved_model, list_versions
from tests.test_case import subprocess_env

Z = np.linspace(-1, 1, 6, dtype="float32").reshape(3, 2)


@pytest.fixture(scope="module")
def vaes():
    """Two tiny VAEs with different weights (to tell an overwrite happened)."""
    keras.utils.set_random_seed(0)
    return VAE(data_shape=(8, 8, 1), latent_dim=2), VAE(
        data_shape=(8, 8, 1), latent_dim=2
    )


def _decode(path):
    signature = tf.saved_model.load(str(path)).signatures["decode"]
    return signature(z=tf.constant(Z))["x_mean"].numpy()


def _expected(vae):
    return keras.ops.convert_to_numpy(vae.decode(Z))


def test_versions_count_up_and_the_layout_is_tf_servings(vaes, tmp_path):
    base = tmp_path / "models" / "vae"
    (base / "notes").mkdir(parents=True)  # non-numeric entries are ignored
    (base / ".tmp-9-stale").mkdir()
    assert export_saved_model(vaes[0], base) == base / "1"
    assert export_saved_model(vaes[0], str(base)) == base / "2"
    assert export_saved_model(vaes[0], base, version=7) == base / "7"
    assert export_saved_model(vaes[0], base) == base / "8"
    assert sorted(list_versions(base)) == [1, 2, 7, 8]
    assert sorted(os.listdir(base)) == [".tmp-9-stale", "1", "2", "7", "8", "notes"]
    version = base / "8"
    assert (version / "saved_model.pb").is_file() and (version / "variables").is_dir()
    metadata = json.loads((version / export.METADATA_FILE).read_text())
    assert metadata["model_class"] == "VAE" and metadata["latent_dim"] == 2
    assert metadata["data_shape"] == [8, 8, 1] and metadata["num_classes"] is None
    np.testing.assert_allclose(_decode(version), _expected(vaes[0]), atol=1e-6)


def test_each_weight_is_saved_once(vaes, tmp_path):
    """`ExportArchive.track(model)` would store every weight twice."""
    version = export_saved_model(vaes[0], tmp_path)
    data = list((version / "variables").glob("variables.data-*"))
    size = sum(path.stat().st_size for path in data)
    assert 4 * vaes[0].count_params() <= size < 1.1 * 4 * vaes[0].count_params()


def test_an_existing_version_is_refused_unless_overwrite(vaes, tmp_path, monkeypatch):
    first = export_saved_model(vaes[0], tmp_path, version=3)
    before = (first / "saved_model.pb").read_bytes()
    with pytest.raises(
        FileExistsError, match=r"Version 3 already exists; pass overwrite=True.*/3'"
    ) as caught:
        export_saved_model(vaes[1], tmp_path, version=3)
    assert caught.value.filename == str(first)
    assert os.listdir(tmp_path) == ["3"]  # no temporary left
    assert (first / "saved_model.pb").read_bytes() == before
    swaps = []

    def exchange(a, b):
        swaps.append(real_exchange(a, b))
        return swaps[-1]

    real_exchange = export._exchange
    monkeypatch.setattr(export, "_exchange", exchange)
    assert export_saved_model(vaes[1], tmp_path, version=3, overwrite=True) == first
    assert swaps == [sys.platform.startswith("linux")]  # one atomic swap on Linux
    assert os.listdir(tmp_path) == ["3"]  # the old copy is gone too
    np.testing.assert_allclose(_decode(first), _expected(vaes[1]), atol=1e-6)


def _failing_second_rename(monkeypatch):
    real = os.rename
    calls = []

    def rename(source, target):
        calls.append((pathlib.Path(source).name, pathlib.Path(target).name))
        if len(calls) == 2:
            raise OSError("injected: disk vanished")
        real(source, target)

    monkeypatch.setattr(export, "_exchange", lambda a, b: False)  # the fallback path
    monkeypatch.setattr(os, "rename", rename)
    return calls


def test_overwrite_without_exchange_puts_the_old_version_back(
    vaes, tmp_path, monkeypatch
):
    first = export_saved_model(vaes[0], tmp_path, version=1)
    calls = _failing_second_rename(monkeypatch)
    with pytest.raises(OSError, match="injected"):
        export_saved_model(vaes[1], tmp_path, version=1, overwrite=True)
    assert calls[0][0] == "1" and calls[0][1].startswith(".old-1-")
    assert calls[1][0].startswith(".tmp-1-") and calls[1][1] == "1"
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["1"]
    np.testing.assert_allclose(_decode(first), _expected(vaes[0]), atol=1e-6)
    monkeypatch.setattr(export, "_exchange", lambda a, b: False)
    export_saved_model(vaes[1], tmp_path, version=1, overwrite=True)  # now it works
    assert os.listdir(tmp_path) == ["1"]
    np.testing.assert_allclose(_decode(first), _expected(vaes[1]), atol=1e-6)


@pytest.mark.parametrize(
    "stage, error",
    [("_fsync_tree", OSError("injected")), ("_publish", KeyboardInterrupt())],
)
def test_a_fault_before_the_rename_leaves_no_version(
    vaes, tmp_path, monkeypatch, stage, error
):
    def fail(*args):
        assert any(p.name.startswith(".tmp-") for p in args if hasattr(p, "name"))
        raise error

    existing = tmp_path / "kept"
    export_saved_model(vaes[0], existing)
    monkeypatch.setattr(export, stage, fail)
    for base in (existing, tmp_path / "new" / "vae"):
        with pytest.raises(type(error)):
            export_saved_model(vaes[0], base)
    assert os.listdir(existing) == ["1"]
    assert not (tmp_path / "new").exists()  # folders this call created are removed


def test_a_version_that_appears_during_the_export_is_not_replaced(
    vaes, tmp_path, monkeypatch
):
    """Two exports choosing the same next version: the second one fails cleanly."""
    first = export_saved_model(vaes[0], tmp_path)
    before = (first / "saved_model.pb").read_bytes()
    monkeypatch.setattr(export, "list_versions", lambda base: {})  # saw no versions
    with pytest.raises(FileExistsError, match="appeared during the export.*/1'"):
        export_saved_model(vaes[1], tmp_path)
    assert os.listdir(tmp_path) == ["1"]
    assert (first / "saved_model.pb").read_bytes() == before


KILLED = """
import sys, time
from keras_genmodels import VAE, export

def stall(tmp, final, overwrite):
    print("WRITTEN", tmp, flush=True)
    time.sleep(600)

export._publish = stall
export.export_saved_model(VAE(data_shape=(8, 8, 1), latent_dim=2), sys.argv[1])
"""


def test_sigkill_before_the_rename_leaves_no_version(vaes, tmp_path):
    """An exporter killed with the whole model written, just before publishing."""
    env = subprocess_env()
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("WRITTEN"), process.stderr.read()[-3000:]
        tmp = pathlib.Path(line.split(maxsplit=1)[1].strip())
        assert (tmp / "saved_model.pb").is_file()  # a complete, unpublished model
        assert list_versions(tmp_path) == {}
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        process.kill()
        process.communicate()
    assert list_versions(tmp_path) == {}  # TF Serving sees nothing to load
    assert os.listdir(tmp_path) == [tmp.name]  # only the hidden temporary
    assert export_saved_model(vaes[0], tmp_path) == tmp_path / "1"


@pytest.mark.parametrize(
    "version, error, message",
    [
        (0, ValueError, r"\[1, 2\*\*63 - 1\]; got 0"),
        (-2, ValueError, "got -2"),
        (2**63, ValueError, "got 9223372036854775808"),
        (1.0, TypeError, "positive integer or None; got 1.0 of type float"),
        ("3", TypeError, "got '3' of type str"),
        (True, TypeError, "of type bool"),
    ],
)
def test_bad_versions_are_refused_before_writing(
    vaes, tmp_path, version, error, message
):
    with pytest.raises(error, match=message):
        export_saved_model(vaes[0], tmp_path / "vae", version=version)
    assert not (tmp_path / "vae").exists()


def test_numpy_integer_versions_are_accepted(vaes, tmp_path):
    assert export_saved_model(vaes[0], tmp_path, version=np.int64(4)).name == "4"


def test_foreign_models_are_refused_before_writing(tmp_path):
    with pytest.raises(TypeError, match="registered keras_genmodels family"):
        export_saved_model(keras.Sequential([keras.layers.Dense(1)]), tmp_path / "m")
    with pytest.raises(TypeError, match="type str"):
        export_saved_model("model.keras", tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_a_base_dir_that_is_a_file_is_refused(vaes, tmp_path):
    file = tmp_path / "taken"
    file.write_text("")
    for base in (file, file / "vae"):
        with pytest.raises(
            NotADirectoryError, match=f"{file}' exists and is not a dir"
        ):
            export_saved_model(vaes[0], base)
    assert os.listdir(tmp_path) == ["taken"]


@pytest.mark.skipif(not os.path.isdir("/sys"), reason="needs Linux sysfs")
@pytest.mark.parametrize(
    "base, action", [("/sys", "write to"), ("/sys/kg/vae", "create")]
)
def test_a_base_dir_that_cannot_be_written_is_reported(vaes, base, action):
    """sysfs refuses new folders even to root (CI is root: chmod cannot test it)."""
    with pytest.raises(PermissionError, match=f"cannot {action} base_dir '{base}'"):
        export_saved_model(vaes[0], base)
    assert not os.path.exists("/sys/kg") and not list_versions("/sys")

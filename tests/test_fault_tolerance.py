"""Kill a training process with SIGKILL, restart it, and check it resumes exactly."""

import json
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_genmodels import VAE
from keras_genmodels.callbacks import NonFiniteLossError, TerminateOnNonFiniteLoss
from tests.scripts import resumable_fit
from tests.test_case import REPO, subprocess_env

SCRIPT = REPO / "tests" / "scripts" / "resumable_fit.py"


def _backup_epoch(backup_dir):
    try:
        return json.loads((backup_dir / "training_metadata.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def _kill_after_epoch(command, backup_dir, epoch, cwd, timeout=120):
    """Starts `command`, SIGKILLs it once the backup records `epoch` epochs."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    while _backup_epoch(backup_dir) < epoch:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no backup appeared in time"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    return _backup_epoch(backup_dir)


def _run(command, cwd):
    result = subprocess.run(
        command,
        cwd=cwd,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.parametrize("kind", ["vae", "gan"])
def test_killed_run_resumes_to_the_uninterrupted_weights(tmp_path, kind):
    epochs = "6"
    uninterrupted = tmp_path / "uninterrupted.npz"  # the reference, in this process
    resumable_fit.main(kind, str(tmp_path / "b0"), str(uninterrupted), int(epochs), 0)
    backup_dir, resumed = tmp_path / "b1", tmp_path / "resumed.npz"
    command = [
        sys.executable,
        str(SCRIPT),
        kind,
        str(backup_dir),
        str(resumed),
        epochs,
        "0.5",
    ]
    killed_at = _kill_after_epoch(command, backup_dir, 2, tmp_path)
    assert 2 <= killed_at < 6 and not resumed.exists()
    _run(command, tmp_path)
    assert not backup_dir.exists()  # removed after the planned epochs finished
    want, got = np.load(uninterrupted), np.load(resumed)
    assert sorted(want.files) == sorted(got.files)
    for name in want.files:  # weights and every optimizer variable (both for GANs)
        np.testing.assert_allclose(
            got[name], want[name], rtol=1e-6, atol=1e-6, err_msg=name
        )


def test_cli_run_killed_and_restarted_finishes_its_epochs(tmp_path):
    backup_dir, out = tmp_path / "backup", tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "keras_genmodels.cli",
        "train",
        "vae",
        "--dataset",
        "digits",
        "--epochs",
        "8",
        "--latent-dim",
        "2",
        "--iwae-samples",
        "2",
        "--verbose",
        "0",
        "--backup-dir",
        str(backup_dir),
        "--output-dir",
        str(out),
    ]
    killed_at = _kill_after_epoch(command, backup_dir, 2, tmp_path)
    assert not (out / "metrics.json").exists()
    _run(command, tmp_path)
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 8 - killed_at  # only the remaining epochs ran
    assert json.loads((out / "metrics.json").read_text())["arguments"]["epochs"] == 8


class _PoisonWeights(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            kernel = self.model.decoder.trainable_weights[0]
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def test_nan_stops_training_and_keeps_the_last_good_backup(tmp_path):
    keras.utils.set_random_seed(0)
    vae = VAE(data_shape=(4,), latent_dim=2, seed=0)
    vae.compile(optimizer="adam")
    x = np.random.default_rng(0).uniform(size=(32, 4)).astype("float32")
    backup_dir = tmp_path / "backup"
    callbacks = [
        keras.callbacks.BackupAndRestore(str(backup_dir)),
        _PoisonWeights(),
        TerminateOnNonFiniteLoss(),
    ]
    with pytest.raises(NonFiniteLossError, match=r"`\w+` became nan at epoch 3"):
        vae.fit(x, batch_size=8, epochs=5, callbacks=callbacks, verbose=0)
    assert _backup_epoch(backup_dir) == 2
    restored = VAE(data_shape=(4,), latent_dim=2, seed=0)
    restored.compile(optimizer="adam")
    restored.load_weights(backup_dir / "latest.weights.h5")
    assert all(np.isfinite(w).all() for w in restored.get_weights())
    assert int(restored.optimizer.iterations) == 8

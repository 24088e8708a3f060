"""Requested devices are checked against the visible ones before a strategy exists."""

import subprocess
import sys

import pytest
import tensorflow as tf

from keras_genmodels.distribute import check_devices, get_strategy
from tests.test_case import subprocess_env


@pytest.mark.parametrize("name", ["mirrored", "one_device"])
def test_missing_devices_are_refused_with_the_visible_ones(name):
    with pytest.raises(ValueError) as info:
        get_strategy(name, devices=["/gpu:0", "/gpu:1"])
    message = str(info.value)
    assert "['/gpu:0', '/gpu:1']" in message and "not visible" in message
    assert "/cpu:0, /cpu:1" in message  # conftest's two logical CPUs


def test_visible_devices_are_accepted_in_every_spelling():
    check_devices(["/cpu:0", "CPU:1", "/device:CPU:0"])
    check_devices([tf.config.list_logical_devices("CPU")[1].name])
    with pytest.raises(ValueError, match=r"\['/cpu:2'\]"):
        check_devices(["/cpu:0", "/cpu:2"])  # one typo among good names
    with pytest.raises(ValueError, match="not visible"):
        check_devices(["nonsense"])
    with pytest.raises(ValueError, match="is empty"):
        check_devices([])


def test_cli_with_absent_gpus_fails_fast_and_leaves_no_run_folder(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "keras_genmodels", "train", "vae"]
    command += ["--dataset", "digits", "--epochs", "1", "--strategy", "mirrored"]
    command += ["--devices", "/gpu:0,/gpu:1", "--output-dir", str(out)]
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=90,  # the unchecked strategy waits forever inside fit()
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "not visible on this machine. Visible devices: /cpu:0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()

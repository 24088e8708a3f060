"""Test-session setup: quiet TensorFlow and two logical CPUs."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.pop("TF_CONFIG", None)

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Logical devices must exist before TensorFlow initialises its runtime, so they are
# configured at import time, before any test module touches a tensor.
_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
)


@pytest.fixture(scope="session")
def mirrored_strategy():
    """One two-replica strategy for the whole session.

    Several `MirroredStrategy` objects in one process can reuse collective-op
    instance keys and abort with "Shape mismatch in the collective instance".
    """
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

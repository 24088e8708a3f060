"""Strategy selection and multi-worker helpers for `tf.distribute` training.

The models themselves make distributed training exact (see `GenerativeModel`):
every loss term is reduced over the global batch, every replica draws its own
slice of the noise one device would draw, and both GAN optimizers are built at
compile time. This module picks the strategy and answers who the chief is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # TensorFlow is imported on first use: `--help` needs none of it
    import tensorflow as tf

STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "one_device")


def get_strategy(
    name: str = "auto", devices: Sequence[str] | None = None
) -> tf.distribute.Strategy:
    """Returns a `tf.distribute.Strategy` by name.

    - `"auto"`: `MirroredStrategy` over all GPUs when more than one is visible,
      else the default (no-op) strategy.
    - `"default"`: `tf.distribute.get_strategy()`, i.e. no distribution.
    - `"mirrored"`: `MirroredStrategy(devices)` (all GPUs, or the CPU, if None).
    - `"multi_worker"`: `MultiWorkerMirroredStrategy`, configured by `TF_CONFIG`.
    - `"one_device"`: `OneDeviceStrategy(devices[0])` (default "/cpu:0", or
      "/gpu:0" when a GPU is visible).

    Create the model and call `compile` under `strategy.scope()`; `fit` then
    distributes each global batch over the replicas.

    Args:
        name: str. One of `STRATEGIES`. Defaults to `"auto"`.
        devices: list of str or None. Devices for `"mirrored"`/`"one_device"`,
            e.g. `["/gpu:0", "/gpu:1"]` or logical CPUs `["/cpu:0", "/cpu:1"]`.

    Returns:
        The strategy.

    Raises:
        ValueError: unknown `name`, `devices` given to a strategy that takes
            none, a device that is not visible (the message lists the visible
            ones), or a `"multi_worker"` strategy without `TF_CONFIG`.

    Example:

    >>> get_strategy("default").num_replicas_in_sync
    1
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown `strategy` {name!r}. Valid names: {', '.join(STRATEGIES)}."
        )
    if devices is not None and name not in ("mirrored", "one_device"):
        raise ValueError(
            f"`devices` applies to 'mirrored' and 'one_device' only; got "
            f"devices={list(devices)!r} with strategy {name!r}."
        )
    if name == "multi_worker":
        # Collective ops must be configured before TensorFlow initialises its
        # runtime, so nothing here may touch devices before this strategy.
        return _multi_worker_strategy()
    if devices is not None:
        check_devices(devices)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    device = devices[0] if devices else ("/gpu:0" if gpus else "/cpu:0")
    return tf.distribute.OneDeviceStrategy(device)


def _device_key(name: str) -> tuple[str, int]:
    """`("GPU", 0)` for "/gpu:0", "GPU:0", "/device:GPU:0" or a full device name."""
    import tensorflow as tf

    try:
        spec = tf.DeviceSpec.from_string(name if name.startswith("/") else f"/{name}")
    except ValueError:
        return ("", -1)
    if spec.device_type is None:
        return ("", -1)
    index = 0 if spec.device_index is None else spec.device_index
    return (spec.device_type.upper(), index)


def check_devices(devices: Sequence[str]) -> None:
    """Raises ValueError unless every one of `devices` is a visible logical device.

    A strategy built over a device that does not exist can wait forever inside
    `fit()`, so the names are checked against `tf.config.list_logical_devices()`
    before any strategy is built.

    Args:
        devices: list of str. Device names such as "/gpu:0" or "/cpu:1".

    Raises:
        ValueError: naming the devices that are not visible and listing the
            visible ones.

    Example:

    >>> check_devices(["/cpu:0"])
    >>> check_devices(["/gpu:7"])
    Traceback (most recent call last):
    ...
    ValueError: `devices` names ['/gpu:7'], not visible on this machine. ...
    """
    import tensorflow as tf

    if not devices:
        raise ValueError("`devices` is empty; pass at least one device name.")
    visible = tf.config.list_logical_devices()
    keys = {_device_key(d.name) for d in visible}
    missing = [d for d in devices if _device_key(d) not in keys]
    if missing:
        names = ", ".join(
            f"/{d.device_type.lower()}:{_device_key(d.name)[1]}" for d in visible
        )
        raise ValueError(
            f"`devices` names {missing!r}, not visible on this machine. Visible "
            f"devices: {names or 'none'}. Pass some of these, or omit --devices / "
            "`devices` to use all GPUs (or the CPU)."
        )


def _multi_worker_strategy() -> tf.distribute.Strategy:
    import tensorflow as tf

    if not os.environ.get("TF_CONFIG"):
        raise ValueError(
            "The 'multi_worker' strategy needs the TF_CONFIG environment variable "
            'describing the cluster, e.g. {"cluster": {"worker": ["host1:12345", '
            '"host2:12345"]}, "task": {"type": "worker", "index": 0}}.'
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether `strategy` spans several workers (`MultiWorkerMirroredStrategy`)."""
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether this process should write files (run folders, exports, backups).

    True without a multi-worker strategy; under one, true for the chief: task
    type "chief", or worker 0 when the cluster has no "chief" task.

    Example:

    >>> is_chief()
    True
    """
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def global_batch_size(
    per_replica_batch_size: int, strategy: tf.distribute.Strategy | None = None
) -> int:
    """Returns the batch size to give `tf.data` so each replica gets its share.

    Example:

    >>> global_batch_size(64)
    64
    """
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    return per_replica_batch_size * strategy.num_replicas_in_sync

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
            none, or a `"multi_worker"` strategy without `TF_CONFIG`.

    Example:

    >>> get_strategy("default").num_replicas_in_sync
    1
    """
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
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    device = devices[0] if devices else ("/gpu:0" if gpus else "/cpu:0")
    return tf.distribute.OneDeviceStrategy(device)


def _multi_worker_strategy() -> tf.distribute.Strategy:
    if not os.environ.get("TF_CONFIG"):
        raise ValueError(
            "The 'multi_worker' strategy needs the TF_CONFIG environment variable "
            'describing the cluster, e.g. {"cluster": {"worker": ["host1:12345", '
            '"host2:12345"]}, "task": {"type": "worker", "index": 0}}.'
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether `strategy` spans several workers (`MultiWorkerMirroredStrategy`)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether this process should write files (run folders, exports, backups).

    True without a multi-worker strategy; under one, true for the chief: task
    type "chief", or worker 0 when the cluster has no "chief" task.

    Example:

    >>> is_chief()
    True
    """
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
    strategy = strategy or tf.distribute.get_strategy()
    return per_replica_batch_size * strategy.num_replicas_in_sync

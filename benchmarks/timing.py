"""Shared timing loop of the benchmark scripts."""

from __future__ import annotations

import statistics
import time


def seconds_per_step(model, dataset, steps: int, repeats: int) -> float:
    """Median seconds per `fit()` step over `repeats` runs, after a warm-up run.

    `dataset` must repeat (`.repeat()`), so every run gets `steps` batches.
    """
    model.fit(dataset, epochs=1, steps_per_epoch=max(1, steps // 4), verbose=0)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
        times.append((time.perf_counter() - started) / steps)
    return statistics.median(times)

"""The dtype policy for this machine: bfloat16 where the hardware computes it fast."""

from __future__ import annotations

import pathlib

DTYPE_POLICIES = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# CPU flags (Linux /proc/cpuinfo) of units that compute in bfloat16.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU feature flags of /proc/cpuinfo (or of the given text)."""
    if cpuinfo is None:
        path = pathlib.Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.is_file() else ""
    flags = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return flags


def gpu_compute_capabilities() -> list[tuple[int, int]]:
    """(major, minor) of every visible GPU (an empty list without GPUs)."""
    import tensorflow as tf

    found = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capability = details.get("compute_capability")
        if capability:
            found.append(tuple(int(v) for v in capability))
    return found


def auto_dtype_policy(
    cpuinfo: str | None = None, gpu_capabilities: list | None = None
) -> tuple[str, str]:
    """Chooses a Keras dtype policy for this machine; returns (policy, reason).

    `mixed_bfloat16` when every visible GPU has compute capability >= 8.0
    (Ampere and later have bfloat16 tensor cores), or, without GPUs, when the
    CPU has bfloat16 units (AVX512-BF16 or AMX); `float32` elsewhere, where
    16-bit arithmetic is emulated and slower. Mixed policies keep float32
    weights; the package's models compute their losses in float32.

    Args:
        cpuinfo: str or None. Text of /proc/cpuinfo; None reads this machine's.
        gpu_capabilities: list or None. (major, minor) per GPU; None asks
            TensorFlow.

    Example:

    >>> auto_dtype_policy("flags : fpu sse2 avx512f avx512_bf16", [])
    ('mixed_bfloat16', 'CPU with avx512_bf16')
    >>> auto_dtype_policy("flags : fpu sse2", [(7, 5)])
    ('float32', 'GPU compute capability 7.5 < 8.0')
    """
    if gpu_capabilities is None:
        gpu_capabilities = gpu_compute_capabilities()
    if gpu_capabilities:
        oldest = min(gpu_capabilities)
        if oldest >= (8, 0):
            return "mixed_bfloat16", f"GPU compute capability {oldest[0]}.{oldest[1]}"
        return "float32", f"GPU compute capability {oldest[0]}.{oldest[1]} < 8.0"
    units = sorted(set(BF16_CPU_FLAGS) & cpu_flags(cpuinfo))
    if units:
        return "mixed_bfloat16", f"CPU with {', '.join(units)}"
    return "float32", "no bfloat16 units found (no avx512_bf16/amx_bf16, no GPU)"


def resolve_dtype_policy(name: str) -> tuple[str, str]:
    """`name` itself, or the `auto` choice; ValueError for unknown names."""
    if name not in DTYPE_POLICIES:
        raise ValueError(
            f"Unknown dtype policy {name!r}. Valid values: {', '.join(DTYPE_POLICIES)}."
        )
    if name == "auto":
        return auto_dtype_policy()
    return name, "asked for"

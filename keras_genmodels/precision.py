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


def _float32_config(config):
    """`config` with every mixed dtype policy replaced by float32."""
    if isinstance(config, dict):
        if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
            name = config.get("config", {}).get("name", "")
            if name.startswith("mixed_"):
                return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32_config(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_config(value) for value in config]
    return config


def float32_copy(model):
    """A float32 copy of a mixed-precision model: same class, config and weights.

    Mixed policies keep float32 variables and only compute in 16 bits, so the
    copy has exactly the same weights; it computes in float32 (what ONNX
    converters and some servers need). A float32 model is returned unchanged.

    Example:

    >>> import keras
    >>> from keras_genmodels import VAE
    >>> keras.config.set_dtype_policy("mixed_bfloat16")
    >>> vae = VAE(data_shape=(4,), latent_dim=2, likelihood="gaussian")
    >>> keras.config.set_dtype_policy("float32")
    >>> copy = float32_copy(vae)
    >>> vae.decoder.compute_dtype, copy.decoder.compute_dtype
    ('bfloat16', 'float32')
    """
    import keras

    policies = {layer.dtype_policy.name for layer in model._flatten_layers()}
    if not any(name.startswith("mixed_") for name in policies):
        return model
    config = _float32_config(keras.saving.serialize_keras_object(model))
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")  # for layers that store no policy
    try:
        copy = keras.saving.deserialize_keras_object(config)
    finally:
        keras.config.set_dtype_policy(previous)
    copy.set_weights(model.get_weights())
    return copy

"""Tests for the automatic dtype policy."""

import pytest

from keras_genmodels.precision import (
    auto_dtype_policy,
    cpu_flags,
    resolve_dtype_policy,
)

CPUINFO = """processor : 0
flags : fpu vme avx2 avx512f
processor : 1
flags : fpu vme avx2 avx512f
"""


def test_cpu_flags_are_parsed():
    assert {"avx2", "avx512f"} <= cpu_flags(CPUINFO)
    assert "Features" not in cpu_flags("Features : fp asimd bf16")
    assert "asimd" in cpu_flags("Features : fp asimd bf16")  # ARM's spelling


@pytest.mark.parametrize(
    "extra, gpus, expected",
    [
        ("", [], "float32"),
        (" avx512_bf16", [], "mixed_bfloat16"),
        (" amx_bf16 amx_tile", [], "mixed_bfloat16"),
        (" avx512_bf16", [(7, 0)], "float32"),  # the GPU does the work
        ("", [(8, 0), (9, 0)], "mixed_bfloat16"),
        ("", [(8, 6), (7, 5)], "float32"),  # the slowest GPU decides
    ],
)
def test_auto_policy(extra, gpus, expected):
    policy, reason = auto_dtype_policy(
        CPUINFO.replace("avx512f", "avx512f" + extra), gpus
    )
    assert policy == expected and reason


def test_resolve_refuses_unknown_names():
    assert resolve_dtype_policy("float32") == ("float32", "asked for")
    assert resolve_dtype_policy("auto")[0] in ("float32", "mixed_bfloat16")
    with pytest.raises(ValueError, match="Unknown dtype policy 'half'.*auto"):
        resolve_dtype_policy("half")

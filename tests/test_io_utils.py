import os

import pytest

from keras_genmodels.io_utils import atomic_write


def test_atomic_write_replaces_whole_files(tmp_path):
    target = tmp_path / "sub" / "model.keras"
    atomic_write(target, lambda tmp: tmp.write_text("old"))
    atomic_write(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new"
    assert os.listdir(target.parent) == ["model.keras"]


def test_atomic_write_keeps_the_old_file_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")

    def fail(tmp):
        assert tmp.suffix == ".keras" and tmp.parent == tmp_path
        tmp.write_text("half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        atomic_write(target, fail)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["model.keras"]

"""`keras-genmodels train gan` options that the family adds: augmentation."""

import json

from keras_genmodels.cli.main import main

TINY = ["train", "gan", "--dataset", "digits", "--epochs", "1", "--batch-size", "128"]
TINY += ["--latent-dim", "4", "--verbose", "0", "--dtype-policy", "float32"]


def test_ada_is_logged(tmp_path):
    out = tmp_path / "ada"
    assert main([*TINY, "--augment", "ada", "--output-dir", str(out)]) == 0
    history = json.loads((out / "history.json").read_text())
    assert 0.0 <= history["augment_p"][-1] <= 1.0

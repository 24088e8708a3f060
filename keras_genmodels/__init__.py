"""Variational autoencoders and GANs for Keras 3."""

# How the package is imported (see "Loading a saved model" in README.md):
# - Library use: `import keras_genmodels` imports the model families at once, which
#   registers their classes with Keras, so `keras.saving.load_model("vae.keras")`
#   works right after the import.
# - The command line (`keras-genmodels`, `python -m keras_genmodels`): the families,
#   and with them TensorFlow, are imported only when a command needs them, so
#   `--help` answers at once. The public names below are then resolved on first use
#   (PEP 562 module `__getattr__`).
# `keras_genmodels.load_model` imports the families itself, so it works either way.

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

__version__ = "0.1.0"

# Public name -> the subpackage defining it.
_EXPORTS = {
    "VAE": "keras_genmodels.vae",
    "BernoulliLikelihood": "keras_genmodels.vae",
    "GaussianLikelihood": "keras_genmodels.vae",
    "MixturePrior": "keras_genmodels.vae",
    "VampPrior": "keras_genmodels.vae",
    "GAN": "keras_genmodels.gan",
    "ConditionalGAN": "keras_genmodels.gan",
    "VQVAE": "keras_genmodels.vqvae",
    "PixelCNNPrior": "keras_genmodels.vqvae",
    "list_presets": "keras_genmodels.presets",
    "load_preset": "keras_genmodels.presets",
}

__all__ = [*_EXPORTS, "load_model", "__version__"]


def _entry_point_is_cli() -> bool:
    """Whether this process runs the `keras-genmodels` command line."""
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    if script in ("keras-genmodels", "keras-genmodels.exe"):
        return True
    argv = list(getattr(sys, "orig_argv", []))
    if "-m" in argv[1:]:
        module = argv[argv.index("-m", 1) + 1 :][:1]
        return module in (["keras_genmodels"], ["keras_genmodels.cli"])
    return False


def import_families() -> None:
    """Imports every registered family's models, registering them with Keras."""
    from keras_genmodels import registry

    for family in registry.families().values():
        family.model_classes()


def load_model(path: str | os.PathLike, **kwargs: Any) -> Any:
    """Loads a `.keras` file of any keras_genmodels model.

    `keras.saving.load_model` finds a class only once its module has been imported
    (Keras looks classes up in its registry of imported, registered classes); this
    function imports every model family first, so it works in a fresh process.

    Args:
        path: str or path-like. A `.keras` file written by `model.save`.
        **kwargs: passed to `keras.saving.load_model` (e.g. `compile=False`).

    Returns:
        The model, compiled as it was saved unless `compile=False`.

    Example:

    >>> import keras_genmodels
    >>> vae = keras_genmodels.VAE(data_shape=(4,), latent_dim=2)
    >>> vae.save("/tmp/keras_genmodels_doctest.keras")
    >>> type(keras_genmodels.load_model("/tmp/keras_genmodels_doctest.keras")).__name__
    'VAE'
    """
    import keras

    import_families()
    return keras.saving.load_model(path, **kwargs)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'keras_genmodels' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if not _entry_point_is_cli():
    import_families()

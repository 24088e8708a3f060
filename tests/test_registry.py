"""A toy family defined only here gets export, sampling, evaluation and a CLI verb.

`PCAGenerator` (probabilistic PCA as a generator: x = mean + W z, z ~ N(0, I))
knows nothing of the package's shared modules; one `register_family` call below
is all it takes for them to serve it.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import registry, serving
from keras_genmodels.data import load_arrays
from keras_genmodels.evaluation import FeatureExtractor, evaluate_generator
from keras_genmodels.export import METADATA_FILE, export_saved_model
from keras_genmodels.registry import Family, family_of, get_family


@keras.saving.register_keras_serializable(package="toy_family")
class PCAGenerator(keras.Model):
    """x = mean + W z with the top `latent_dim` principal axes of the data."""

    def __init__(self, data_shape, latent_dim=4, **kwargs):
        super().__init__(**kwargs)
        self.data_shape = tuple(data_shape)
        self.latent_dim = latent_dim
        size = int(np.prod(data_shape))
        self.mean = self.add_weight(shape=(size,), initializer="zeros", name="mean")
        self.axes = self.add_weight(
            shape=(latent_dim, size), initializer="zeros", name="axes"
        )
        self.built = True

    def fit_pca(self, x):
        flat = np.reshape(x, (len(x), -1)).astype("float64")
        mean = flat.mean(axis=0)
        _, singular, vt = np.linalg.svd(flat - mean, full_matrices=False)
        scale = singular[: self.latent_dim, None] / np.sqrt(len(x) - 1)
        self.mean.assign(mean.astype("float32"))
        self.axes.assign((scale * vt[: self.latent_dim]).astype("float32"))
        return self

    def call(self, z):
        x = self.mean + tf.matmul(z, self.axes)
        return tf.reshape(tf.clip_by_value(x, 0.0, 1.0), [-1, *self.data_shape])

    def sample(self, num_samples, seed=None):
        return self(keras.random.normal((num_samples, self.latent_dim), seed=seed))

    def get_config(self):
        return {
            **super().get_config(),
            "data_shape": self.data_shape,
            "latent_dim": self.latent_dim,
        }


def pca_endpoints(model):
    z = serving.spec([None, model.latent_dim], tf.float32, "z")

    def generate(z):
        return {"images": model(z)}

    def sample(num_samples, seed):
        return generate(serving.normal_noise(num_samples, seed, model.latent_dim))

    return {
        "serving_default": (generate, [z]),
        "sample": (sample, serving.sample_specs()),
    }


def pca_cli(models):
    """`keras-genmodels train pca`, written against the CLI core's helpers."""
    from keras_genmodels.cli import train

    parser = models.add_parser("pca", help="probabilistic PCA")
    train.add_common_options(parser, 128, 1, 1e-3, 8)
    parser.set_defaults(handler=train_pca)


def train_pca(args):
    from keras_genmodels.cli import common, train

    out, train_ds, test_ds, shape, _ = train.start_run(args)
    x_train, _ = common.dataset_arrays(train_ds)
    model = PCAGenerator(shape, latent_dim=args.latent_dim).fit_pca(x_train)
    with common.run_folder(out):
        model.save(out / "model.keras")
    common.write_json(out / "metrics.json", {"dataset": args.dataset})
    print(f"wrote {out}")
    return 0


@pytest.fixture
def pca_family():
    family = registry.register_family(
        Family(
            name="pca",
            models=(PCAGenerator,),
            summary="probabilistic PCA",
            serving_endpoints=pca_endpoints,
            onnx_endpoints=("serving_default",),
            export_metadata=lambda model: {"latent_dim": model.latent_dim},
            cli=pca_cli,
        )
    )
    yield family
    registry.unregister_family("pca")


@pytest.fixture(scope="module")
def digits():
    return load_arrays("digits")


def test_the_package_families_are_discovered():
    assert {"vae", "gan"} <= set(registry.families())
    assert get_family("gan").onnx_endpoints[0] == "generate"
    with pytest.raises(ValueError, match="Unknown model family 'nope'.*gan"):
        get_family("nope")
    with pytest.raises(TypeError, match="registered keras_genmodels family"):
        family_of(keras.Sequential([keras.layers.Dense(1)]))


def test_registration_checks_its_input(pca_family):
    with pytest.raises(ValueError, match="already registered"):
        registry.register_family(Family(name="pca"))
    with pytest.raises(ValueError, match="identifier"):
        registry.register_family(Family(name="two words"))
    with pytest.raises(TypeError, match="must be a Family"):
        registry.register_family({"name": "pca"})


def test_a_toy_family_exports_and_serves(pca_family, digits, tmp_path):
    model = PCAGenerator((8, 8, 1)).fit_pca(digits.x_train)
    assert family_of(model) is pca_family
    version = export_saved_model(model, tmp_path / "pca")
    metadata = json.loads((version / METADATA_FILE).read_text())
    assert metadata["family"] == "pca" and metadata["latent_dim"] == 4
    assert metadata["signatures"] == ["serving_default", "sample"]
    loaded = tf.saved_model.load(str(version))
    served = loaded.signatures["sample"](
        num_samples=tf.constant(5), seed=tf.constant(3, tf.int64)
    )["images"]
    np.testing.assert_allclose(served, model.sample(5, seed=3), atol=1e-6)


def test_a_toy_family_is_evaluated(pca_family, digits, tmp_path):
    extractor = FeatureExtractor.from_dataset(
        "digits", epochs=2, path=tmp_path / "digits.keras"
    )
    pca = PCAGenerator((8, 8, 1), latent_dim=8).fit_pca(digits.x_train)
    report = evaluate_generator(
        pca, "digits", num_samples=200, extractor=extractor, kid_subsets=5
    )
    assert report["protocol"]["family"] == "pca"
    untrained = PCAGenerator((8, 8, 1), latent_dim=8)  # the blank mean image
    blank = evaluate_generator(
        untrained, "digits", num_samples=200, extractor=extractor, kid_subsets=5
    )
    assert report["fid"] < blank["fid"]


def test_a_toy_family_converts_to_onnx(pca_family, digits, tmp_path):
    import onnxruntime

    from keras_genmodels.export_onnx import export_onnx

    model = PCAGenerator((8, 8, 1)).fit_pca(digits.x_train)
    path = export_onnx(model, tmp_path / "pca.onnx")
    z = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    (images,) = onnxruntime.InferenceSession(str(path)).run(["images"], {"z": z})
    np.testing.assert_allclose(images, model(z), atol=1e-5)


def test_a_toy_family_gets_a_cli_verb(pca_family, tmp_path, capsys):
    from keras_genmodels.cli.main import main

    run = tmp_path / "run"
    args = ["train", "pca", "--dataset", "digits", "--output-dir", str(run)]
    assert main([*args, "--dtype-policy", "float32", "--verbose", "0"]) == 0
    assert main(["evaluate", str(run), "--num-samples", "50"]) == 0
    assert "FID:" in capsys.readouterr().out
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["family"] == "pca" and (run / "samples.png").is_file()
    base = tmp_path / "saved" / "pca"
    assert main(["export", str(run), "--base-dir", str(base)]) == 0
    assert main(["sample", str(base), "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").stat().st_size > 0

"""ONNX export: onnxruntime gives what the SavedModel gives."""

import os

import keras
import numpy as np
import onnxruntime
import pytest
import tensorflow as tf

from keras_genmodels import GAN, VAE, ConditionalGAN, precision
from keras_genmodels.export import export_saved_model
from keras_genmodels.export_onnx import export_onnx

RNG = np.random.default_rng(0)
Z2 = RNG.normal(size=(5, 2)).astype("float32")
Z4 = RNG.normal(size=(5, 4)).astype("float32")
IMAGES = RNG.uniform(size=(5, 8, 8, 1)).astype("float32")
LABELS = np.array([0, 1, 2, 0, 1], "int32")
# (model, endpoint, inputs, output)
CASES = {
    "vae-decode": ("vae", "decode", {"z": Z2}, "x_mean"),
    "gan-generate": ("gan", "generate", {"z": Z4}, "images"),
    "gan-discriminate": ("gan", "discriminate", {"images": IMAGES}, "logits"),
    "cgan-generate": ("cgan", "generate", {"z": Z4, "labels": LABELS}, "images"),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each case converted once, and the same models as SavedModels."""
    keras.utils.set_random_seed(0)
    base = tmp_path_factory.mktemp("onnx")
    gan = GAN(data_shape=(8, 8, 1), latent_dim=4, ema_decay=0.9)
    for weight in gan.generator.weights:  # EMA and raw generator now differ
        weight.assign(weight + 0.05)
    models = {
        "vae": VAE(data_shape=(8, 8, 1), latent_dim=2),
        "gan": gan,
        "cgan": ConditionalGAN(data_shape=(8, 8, 1), latent_dim=4, num_classes=3),
    }
    saved = {
        name: tf.saved_model.load(str(export_saved_model(model, base / name)))
        for name, model in models.items()
    }
    files = {
        case: export_onnx(models[name], base / f"{case}.onnx", endpoint=endpoint)
        for case, (name, endpoint, _, _) in CASES.items()
    }
    return models, saved, files


@pytest.mark.parametrize("case", list(CASES))
def test_onnxruntime_matches_the_saved_model(exported, case):
    _, saved, files = exported
    name, endpoint, inputs, output = CASES[case]
    session = onnxruntime.InferenceSession(
        str(files[case]), providers=["CPUExecutionProvider"]
    )
    assert [i.name for i in session.get_inputs()] == list(inputs)
    assert [o.name for o in session.get_outputs()] == [output]
    expected = saved[name].signatures[endpoint](**inputs)[output].numpy()
    for batch in (5, 1):  # the batch dimension stays dynamic
        feed = {key: value[:batch] for key, value in inputs.items()}
        (got,) = session.run([output], feed)
        assert got.shape == expected[:batch].shape
        np.testing.assert_allclose(got, expected[:batch], atol=1e-4)
    difference = np.abs(session.run([output], inputs)[0] - expected).max()
    print(f"{case}: max |onnxruntime - SavedModel| = {difference:.2e}")


def test_the_default_endpoint_and_atomic_overwrite(exported, tmp_path):
    models, *_ = exported
    path = export_onnx(models["vae"], tmp_path / "m.onnx")  # decode by default
    session = onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"]
    )
    assert [o.name for o in session.get_outputs()] == ["x_mean"]
    size = path.stat().st_size
    with pytest.raises(FileExistsError, match=r"overwrite=True.*m\.onnx'"):
        export_onnx(models["gan"], path)
    assert path.stat().st_size == size
    export_onnx(models["gan"], path, overwrite=True)
    assert os.listdir(tmp_path) == ["m.onnx"]  # no temporary left
    assert path.stat().st_size != size


@pytest.mark.parametrize(
    "model, kwargs, error, message",
    [
        ("vae", {"endpoint": "encode"}, ValueError, "Valid values: decode"),
        ("vae", {"endpoint": "sample"}, ValueError, "Unknown `endpoint` 'sample'"),
        ("cgan", {"endpoint": "decode"}, ValueError, "generate, discriminate"),
        ("vae", {"opset": 9}, ValueError, "from 13 to 18; got 9"),
        ("vae", {"opset": "17"}, ValueError, "got '17'"),
        (None, {}, TypeError, "registered keras_genmodels family"),
    ],
)
def test_bad_arguments_are_refused_before_writing(
    exported, tmp_path, model, kwargs, error, message
):
    models, *_ = exported
    target = models[model] if model else keras.Sequential([keras.layers.Dense(1)])
    with pytest.raises(error, match=message):
        export_onnx(target, tmp_path / "m.onnx", **kwargs)
    assert os.listdir(tmp_path) == []


def test_a_mixed_precision_model_converts_through_its_float32_copy(tmp_path):
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        vae = VAE(data_shape=(8, 8, 1), latent_dim=2, seed=0)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    path = export_onnx(vae, tmp_path / "m.onnx")
    z = np.random.default_rng(0).normal(size=(5, 2)).astype("float32")
    (got,) = onnxruntime.InferenceSession(str(path)).run(["x_mean"], {"z": z})
    bf16 = keras.ops.convert_to_numpy(vae.decode(z)).astype("float32")
    f32 = keras.ops.convert_to_numpy(precision.float32_copy(vae).decode(z))
    np.testing.assert_allclose(got, f32, atol=1e-5)  # the float32 computation
    np.testing.assert_allclose(got, bf16, atol=0.02)  # bf16 rounding only
    assert vae.decoder.compute_dtype == "bfloat16"  # the model itself unchanged

"""The exported signatures, as TF Serving and plain TensorFlow see them."""

import contextlib
import importlib.util
import io
import json
import os
import pathlib
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from keras_genmodels import GAN, VAE, ConditionalGAN
from keras_genmodels.export import export_saved_model
from keras_genmodels.serving import serving_endpoints
from tests.test_case import run_signatures_in_isolation

REPO = pathlib.Path(__file__).resolve().parents[1]
IMAGE = ("DT_FLOAT", (-1, 8, 8, 1))
LABELS = {"labels": ("DT_INT32", (-1,))}
SAMPLE = {"num_samples": ("DT_INT32", ()), "seed": ("DT_INT64", ())}
# The contract of docs/serving.md: {signature: (inputs, outputs)}, name -> dtype, shape.
CONTRACT = {
    "vae": {
        "serving_default": ({"x": IMAGE}, {"reconstruction": IMAGE}),
        "encode": (
            {"x": IMAGE},
            {"z_mean": ("DT_FLOAT", (-1, 2)), "z_stddev": ("DT_FLOAT", (-1, 2))},
        ),
        "decode": ({"z": ("DT_FLOAT", (-1, 2))}, {"x_mean": IMAGE}),
        "sample": (SAMPLE, {"images": IMAGE}),
    },
    "gan": {
        "serving_default": ({"z": ("DT_FLOAT", (-1, 4))}, {"images": IMAGE}),
        "generate": ({"z": ("DT_FLOAT", (-1, 4))}, {"images": IMAGE}),
        "sample": (SAMPLE, {"images": IMAGE}),
        "discriminate": ({"images": IMAGE}, {"logits": ("DT_FLOAT", (-1, 1))}),
    },
}
CONTRACT["cgan"] = {
    name: ({**inputs, **LABELS}, outputs)
    for name, (inputs, outputs) in CONTRACT["gan"].items()
}
_spec = importlib.util.spec_from_file_location(
    "serving_client", REPO / "examples" / "serving_client.py"
)
client = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(client)


def _in_memory(model, signature, feed):
    """What the in-memory model's public methods give for one signature's inputs."""
    labels = feed.get("labels")
    by_label = {} if labels is None else {"labels": labels}
    if isinstance(model, VAE):
        if signature == "serving_default":
            return {"reconstruction": model.reconstruct(feed["x"])}
        if signature == "encode":
            return dict(
                zip(("z_mean", "z_stddev"), model.encode(feed["x"]), strict=True)
            )
        if signature == "decode":
            return {"x_mean": model.decode(feed["z"])}
        return {"images": model.sample(int(feed["num_samples"]), int(feed["seed"]))}
    if signature in ("serving_default", "generate"):
        return {"images": model.generate(feed["z"], **by_label)}
    if signature == "sample":
        n, seed = int(feed["num_samples"]), int(feed["seed"])
        return {"images": model.generate(n, seed=seed, **by_label)}
    return {"logits": model.discriminate(feed["images"], labels)}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """VAE, GAN with EMA and conditional GAN, exported once; inputs and outputs."""
    keras.utils.set_random_seed(0)
    base = tmp_path_factory.mktemp("serving")
    gan = GAN(data_shape=(8, 8, 1), latent_dim=4, ema_decay=0.9, seed=0)
    for weight in gan.generator.weights:  # the EMA weights now differ from G's
        weight.assign(weight + 0.05)
    models = {
        "vae": VAE(data_shape=(8, 8, 1), latent_dim=2, seed=0),
        "gan": gan,
        "cgan": ConditionalGAN(data_shape=(8, 8, 1), latent_dim=4, num_classes=3),
    }
    paths = {name: export_saved_model(m, base / name) for name, m in models.items()}
    feeds, expected = {}, {}
    for name, model in models.items():
        signatures = client.read_signatures(paths[name])
        for signature in CONTRACT[name]:
            feed = client.example_inputs(signatures[signature], batch=5, seed=7)
            if "labels" in feed:
                feed["labels"] = (np.arange(5) % 3).astype("int32")
            feeds[name, signature] = feed
            outputs = _in_memory(model, signature, feed)
            for key, value in outputs.items():
                expected[name, signature, key] = keras.ops.convert_to_numpy(value)
    return models, paths, feeds, expected, base




def test_every_signature_runs_without_the_package_and_matches(exported, tmp_path):
    models, paths, feeds, expected, _ = exported
    arrays = {
        f"{m}/{s}/{k}": v for (m, s), feed in feeds.items() for k, v in feed.items()
    }
    outputs = run_signatures_in_isolation(paths, arrays, tmp_path)
    got = {tuple(key.split("/")) for key in outputs}
    assert got == set(expected)  # every signature and output, nothing else
    for (model, signature, key), want in expected.items():
        np.testing.assert_allclose(
            outputs[f"{model}/{signature}/{key}"], want, atol=1e-5, err_msg=key
        )


def test_gan_serves_the_ema_generator(exported):
    models, _, feeds, expected, _ = exported
    z = feeds["gan", "generate"]["z"]
    ema = keras.ops.convert_to_numpy(models["gan"].ema_generator(z))
    raw = keras.ops.convert_to_numpy(models["gan"].generator(z))
    np.testing.assert_allclose(expected["gan", "generate", "images"], ema, atol=1e-6)
    assert np.abs(ema - raw).max() > 1e-3


def _parse_show(text):
    """{signature: ({input: (dtype, shape)}, {output: (dtype, shape)})} of `show`."""
    parsed = {}
    for block in re.split(r"\nsignature_def\['", text)[1:]:
        name = block.split("'", 1)[0]
        sides = ({}, {})
        for side, key, dtype, shape in re.findall(
            r"(inputs|outputs)\['(\w+)'\] tensor_info:\s+dtype: (\w+)\s+shape: (.+)",
            block,
        ):
            dims = tuple(int(d) for d in re.findall(r"-?\d+", shape))
            sides[side == "outputs"][key] = (dtype, dims)
        parsed[name] = sides
    parsed.pop("__saved_model_init_op", None)
    return parsed


def test_saved_model_cli_shows_and_runs_the_signatures(exported, tmp_path):
    """The real `saved_model_cli`: `show` and `run` side by side (two cores).

    The GANs' listings are checked from `saved_model.pb` in test_signature_contract.
    """
    models, paths, *_ = exported
    cli = str(pathlib.Path(sys.executable).with_name("saved_model_cli"))
    vae = str(paths["vae"])
    commands = {
        "show": [cli, "show", "--all", "--dir", vae],
        "run": [cli, "run", "--dir", vae, "--tag_set", "serve"]
        + ["--signature_def", "sample", "--input_exprs", "num_samples=3;seed=11"]
        + ["--outdir", str(tmp_path), "--overwrite"],
    }
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1")
    processes = {
        name: subprocess.Popen(
            c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for name, c in commands.items()
    }
    results = {name: p.communicate(timeout=300) for name, p in processes.items()}
    for name, process in processes.items():
        assert process.returncode == 0, f"{name}: {results[name][1][-2000:]}"
    shown = results["show"][0]
    assert _parse_show(shown) == CONTRACT["vae"]
    assert shown.count("Method name is: tensorflow/serving/predict") == 4
    images = np.load(tmp_path / "images.npy")
    np.testing.assert_allclose(images, models["vae"].sample(3, seed=11), atol=1e-5)


def _datatype(name):
    """'float32' -> 'DT_FLOAT', the enum name `saved_model_cli` prints."""
    enum = tf.dtypes.as_dtype(name).as_datatype_enum
    return types_pb2.DataType.Name(enum)


def test_signature_contract(exported):
    """Names, dtypes and shapes as `saved_model.pb` lists them (TF Serving's view)."""
    _, paths, *_ = exported
    for name, path in paths.items():
        read = client.read_signatures(path)
        as_cli = {
            signature: tuple(
                {
                    k: (
                        _datatype(dtype),
                        tuple(-1 if d is None else d for d in shape),
                    )
                    for k, (dtype, shape) in side.items()
                }
                for side in (sides["inputs"], sides["outputs"])
            )
            for signature, sides in read.items()
        }
        assert as_cli == CONTRACT[name]


def test_tfsm_layer_reloads_the_endpoints(exported):
    _, paths, feeds, expected, _ = exported
    decode = keras.layers.TFSMLayer(str(paths["vae"]), call_endpoint="decode")
    out = decode(feeds["vae", "decode"]["z"])
    np.testing.assert_allclose(
        out["x_mean"], expected["vae", "decode", "x_mean"], atol=1e-5
    )
    generate = keras.layers.TFSMLayer(str(paths["cgan"]), call_endpoint="generate")
    feed = feeds["cgan", "generate"]
    out = generate(feed["z"], labels=feed["labels"])
    np.testing.assert_allclose(
        out["images"], expected["cgan", "generate", "images"], atol=1e-5
    )


def test_requests_match_the_signatures_and_run(exported):
    """gRPC and REST requests carry exactly the signature's names, dtypes and shapes."""
    _, paths, feeds, expected, _ = exported
    for (name, signature), feed in feeds.items():
        spec = client.read_signatures(paths[name])[signature]["inputs"]
        request = client.grpc_request(name, signature, feed, version=1)
        assert request.model_spec.signature_name == signature
        assert request.model_spec.version.value == 1
        assert set(request.inputs) == set(spec)
        fed = {}
        for key, proto in request.inputs.items():
            dtype, shape = spec[key]
            assert tf.dtypes.as_dtype(proto.dtype).name == dtype, (name, signature, key)
            dims = tuple(d.size for d in proto.tensor_shape.dim)
            assert len(dims) == len(shape) and all(
                s in (None, d) for s, d in zip(shape, dims, strict=True)
            )
            fed[key] = tf.make_ndarray(proto)
        body = json.loads(json.dumps(client.columnar_request(signature, feed)))
        assert body["signature_name"] == signature and set(body["inputs"]) == set(spec)
        if any(not s for _, s in spec.values()):  # scalars: no row format
            with pytest.raises(ValueError, match="columnar"):
                client.row_request(signature, feed)
        else:
            rows = json.loads(json.dumps(client.row_request(signature, feed)))[
                "instances"
            ]
            assert len(rows) == 5 and all(set(row) == set(spec) for row in rows)
            np.testing.assert_allclose(
                [r[next(iter(spec))] for r in rows], feed[next(iter(spec))], rtol=1e-6
            )
        loaded = tf.saved_model.load(str(paths[name])).signatures[signature]
        for key, value in loaded(**fed).items():
            np.testing.assert_allclose(value, expected[name, signature, key], atol=1e-5)


def test_sample_is_deterministic_per_seed_and_checks_its_inputs(exported):
    _, paths, *_ = exported
    sample = tf.saved_model.load(str(paths["cgan"])).signatures["sample"]
    labels = tf.constant([0, 1, 2, 0], tf.int32)

    def draw(seed, num=4, labels=labels):
        feed = dict(num_samples=tf.constant(num), seed=tf.constant(seed, tf.int64))
        return sample(**feed, labels=labels)["images"].numpy()

    np.testing.assert_array_equal(draw(3), draw(3))
    assert np.abs(draw(3) - draw(4)).max() > 1e-4
    draw(2**40)  # any int64 seed
    for bad in (dict(num=3), dict(labels=tf.constant([0, 1, 2, 3], tf.int32))):
        with pytest.raises(tf.errors.InvalidArgumentError, match="labels"):
            draw(0, **bad)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_samples"):
        draw(0, num=0, labels=tf.constant([], tf.int32))


def test_serving_endpoints_refuse_foreign_and_diverged_models():
    with pytest.raises(TypeError, match="registered keras_genmodels family"):
        serving_endpoints(keras.Sequential([keras.layers.Dense(1)]))
    vae = VAE(data_shape=(8, 8, 1), latent_dim=2)
    vae.decoder.weights[0].assign(np.full(vae.decoder.weights[0].shape, np.nan))
    with pytest.raises(ValueError, match="of its decoder has NaN or infinite"):
        serving_endpoints(vae)


def _documented_requests():
    """(model, body) of every `... | predict MODEL` line in docs/serving.md."""
    text = (REPO / "docs" / "serving.md").read_text()
    image = re.search(r"^image='(.+)'", text, re.M).group(1)
    requests = []
    for line in text.splitlines():
        if line.startswith("echo '"):
            body, model = re.fullmatch(r"echo '(.+)' \| predict (\w+)", line).groups()
            requests.append((model, json.loads(body)))
        elif line.startswith('python -c "'):
            code, model = re.fullmatch(
                r'python -c "(.+)" \| predict (\w+)', line
            ).groups()
            with contextlib.redirect_stdout(io.StringIO()) as out:
                exec(code.replace("$image", image))
            requests.append((model, json.loads(out.getvalue())))
    return requests


def test_the_documented_rest_requests_fit_the_signatures(tmp_path):
    """Each curl body of docs/serving.md, turned into tensors as TF Serving does."""
    models = {
        "vae": VAE(data_shape=(28, 28, 1), latent_dim=2),
        "cgan": ConditionalGAN(data_shape=(28, 28, 1), latent_dim=4, num_classes=10),
    }
    loaded = {
        name: tf.saved_model.load(str(export_saved_model(model, tmp_path / name)))
        for name, model in models.items()
    }
    requests = _documented_requests()
    assert len(requests) == 12  # row and columnar, for each signature shown
    for model, body in requests:
        function = loaded[model].signatures[body["signature_name"]]
        specs = function.structured_input_signature[1]
        if "instances" in body:  # row format: the instances are stacked
            rows = body["instances"]
            assert all(set(row) == set(specs) for row in rows)
            columns = {key: [row[key] for row in rows] for key in specs}
        else:
            columns = body["inputs"]
        assert set(columns) == set(specs), body["signature_name"]
        tensors = {k: tf.constant(v, specs[k].dtype) for k, v in columns.items()}
        outputs = function(**tensors)  # the signature checks shapes and dtypes
        assert all(np.isfinite(v.numpy()).all() for v in outputs.values())

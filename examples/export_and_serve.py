"""
Title: Export a trained model for TF Serving and call its signatures
Author: keras_genmodels contributors
Description: Write a versioned SavedModel with `export_saved_model`, load it
back with TensorFlow alone and call its named signatures as TF Serving would.

Run:

    python examples/export_and_serve.py                 # a VAE, mnist5k, 5 epochs
    python examples/export_and_serve.py --model gan
    python examples/export_and_serve.py --quick         # 8x8 digits, 1 epoch

Outputs, in `--output-dir` (default `runs/examples/export_and_serve`):
`saved_models/<model>/<version>/` (the SavedModel, in TF Serving's layout) and
`served_samples.png` (images returned by the `sample` signature).
"""

import argparse
import pathlib

import keras
import numpy as np
import tensorflow as tf

from keras_genmodels import GAN, VAE, data, plots
from keras_genmodels.export import export_saved_model


def parse_args():
    parser = argparse.ArgumentParser(description="Export a model and call it.")
    parser.add_argument("--model", choices=("vae", "gan"), default="vae")
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="digits, 1 epoch")
    parser.add_argument("--output-dir", default="runs/examples/export_and_serve")
    args = parser.parse_args()
    if args.quick:
        args.dataset, args.epochs = "digits", 1
    return args


def train_model(args):
    """A briefly trained VAE or GAN (any model of the package exports alike)."""
    train, _ = data.load_dataset(args.dataset, batch_size=64)
    shape = data.load_arrays(args.dataset).x_train.shape[1:]
    if args.model == "vae":
        model = VAE(data_shape=shape, latent_dim=8, seed=args.seed)
        model.compile(optimizer="adam")
    else:
        model = GAN(data_shape=shape, latent_dim=32, seed=args.seed)
        model.compile(d_optimizer="adam", g_optimizer="adam")
    model.fit(train, epochs=args.epochs, verbose=2)
    return model


def describe(name, signature):
    """Prints a signature's named inputs and outputs, as a server lists them."""
    _, inputs = signature.structured_input_signature
    print(f"signature {name!r}")
    for key, spec in sorted(inputs.items()):
        print(f"    input  {key}: {spec.dtype.name} {spec.shape}")
    for key, spec in sorted(signature.structured_outputs.items()):
        print(f"    output {key}: {spec.dtype.name} {spec.shape}")


def main():
    args = parse_args()
    output_dir = pathlib.Path(args.output_dir)
    keras.utils.set_random_seed(args.seed)
    model = train_model(args)

    # Export: `base/<version>/` is written to a hidden temporary folder and
    # renamed into place only when complete, because TF Serving loads the
    # highest numeric version as soon as its folder appears. Without `version`
    # the next free number is used (1 for a new base folder).
    base_dir = output_dir / "saved_models" / args.model
    version_dir = export_saved_model(model, base_dir)
    print(f"Exported to {version_dir}")

    # Loading needs TensorFlow only: not Keras, TFP or this package. A server
    # calls the signatures by name with named tensors and gets a dict back.
    loaded = tf.saved_model.load(str(version_dir))
    for name, signature in loaded.signatures.items():
        describe(name, signature)

    # `serving_default`: what a request without a signature name gets. For a
    # VAE it reconstructs `x`; for a GAN it generates from `z`.
    serving_default = loaded.signatures["serving_default"]
    if args.model == "vae":
        x = data.load_arrays(args.dataset).x_test[:4]
        outputs = serving_default(x=tf.constant(x))
    else:
        z = np.random.default_rng(0).normal(size=(4, model.latent_dim))
        outputs = serving_default(z=tf.constant(z, tf.float32))
    print({key: tuple(value.shape) for key, value in outputs.items()})

    # `sample`: stateless, so the same seed gives the same images, and the
    # ones `vae.sample(n, seed=s)` / `gan.generate(n, seed=s)` give in Python.
    sample = loaded.signatures["sample"]
    images = sample(num_samples=tf.constant(16), seed=tf.constant(0, tf.int64))
    images = images["images"].numpy()
    if args.model == "vae":
        in_memory = model.sample(16, seed=0)
    else:
        in_memory = model.generate(16, seed=0)
    difference = float(np.abs(images - np.asarray(in_memory)).max())
    print(f"served vs in-memory samples: max |difference| = {difference:.2e}")
    plots.save_image_grid(images, output_dir / "served_samples.png")

    # The same model under TF Serving (not installed with this package):
    #   tensorflow_model_server --rest_api_port=8501 --model_name=NAME \
    #       --model_base_path=/absolute/path/to/saved_models/NAME
    #   curl -d '{"signature_name": "sample", "inputs": {"num_samples": 4,
    #             "seed": 0}}' http://localhost:8501/v1/models/NAME:predict
    # `examples/serving_client.py` builds and sends such requests.
    print(f"TF Serving: --model_base_path={base_dir.resolve()}")


if __name__ == "__main__":
    main()

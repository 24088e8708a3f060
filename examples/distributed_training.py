"""
Title: Data-parallel training with MirroredStrategy, on GPUs or two CPUs
Author: keras_genmodels contributors
Description: Build and compile a VAE under a `tf.distribute` strategy's scope;
`fit()` splits every global batch over the replicas.

Run:

    python examples/distributed_training.py                      # all GPUs, or 2 CPUs
    python examples/distributed_training.py --devices /gpu:0,/gpu:1
    python examples/distributed_training.py --quick              # 8x8 digits, 1 epoch

With two or more GPUs visible the replicas are the GPUs. Otherwise the script
splits the one physical CPU into `--replicas` logical CPU devices, so the same
code runs on a laptop. TensorFlow only accepts that split before its runtime
initialises (before the first tensor or device query that creates a context),
so `configure_devices` runs first thing in `main()`, before any data is loaded.
Logical CPUs share the same cores: they demonstrate and test the mechanics,
they do not make training faster.

Outputs, in `--output-dir` (default `runs/examples/distributed_training`):
`samples.png`, `history.png` and `model.keras`.
"""

import argparse
import pathlib

import keras
import tensorflow as tf

from keras_genmodels import VAE, data, distribute, plots


def parse_args():
    parser = argparse.ArgumentParser(description="Train a VAE on several replicas.")
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--per-replica-batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument(
        "--devices", default=None, help="comma-separated, e.g. /gpu:0,/gpu:1"
    )
    parser.add_argument(
        "--replicas", type=int, default=2, help="logical CPUs when no GPUs"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="digits, 1 epoch")
    parser.add_argument("--output-dir", default="runs/examples/distributed_training")
    args = parser.parse_args()
    if args.quick:
        args.dataset, args.epochs = "digits", 1
    return args


def configure_devices(devices, replicas):
    """Returns the device names to mirror over; call before TensorFlow initialises.

    Listing physical devices does not initialise the runtime, but creating a
    tensor does; after that, `set_logical_device_configuration` raises
    `RuntimeError`.
    """
    if devices:
        return devices.split(",")
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= 2:
        return [f"/gpu:{i}" for i in range(len(gpus))]
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * replicas
    )
    return [f"/cpu:{i}" for i in range(replicas)]


def main():
    args = parse_args()
    devices = configure_devices(args.devices, args.replicas)
    output_dir = pathlib.Path(args.output_dir)
    keras.utils.set_random_seed(args.seed)

    # The strategy: one replica per device, variables mirrored on each.
    strategy = distribute.get_strategy("mirrored", devices=devices)
    print(f"{strategy.num_replicas_in_sync} replicas on {devices}")

    # The data pipeline yields GLOBAL batches: each replica gets its share.
    batch_size = distribute.global_batch_size(args.per_replica_batch_size, strategy)
    train, test = data.load_dataset(args.dataset, batch_size=batch_size)
    image_shape = data.load_arrays(args.dataset).x_train.shape[1:]

    # Create and compile under the scope, so the variables and the optimizer
    # state are mirrored. Nothing else changes: the VAE averages every loss
    # term over the global batch and draws each replica's own slice of the
    # noise, so a step on N replicas equals the step one device takes on the
    # same global batch.
    with strategy.scope():
        vae = VAE(data_shape=image_shape, latent_dim=args.latent_dim, seed=args.seed)
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vae.fit(train, validation_data=test, epochs=args.epochs, verbose=2)

    # Only the chief writes files (every process is the chief on one machine;
    # under MultiWorkerMirroredStrategy only one worker is).
    if distribute.is_chief(strategy):
        output_dir.mkdir(parents=True, exist_ok=True)
        plots.save_history(history, output_dir / "history.png")
        plots.save_image_grid(vae.sample(64, seed=0), output_dir / "samples.png")
        vae.save(output_dir / "model.keras")
        print(f"Wrote {output_dir}")


if __name__ == "__main__":
    main()

"""GAN train-step time: one joint D pass and no D(real) in the G step, vs two passes.

Usage: python benchmarks/gan_step.py [PAIRS]

Both variants live in one process and run alternately (A, B, A, B, ...) on the
same MNIST-shaped batches; each pair gives a ratio of CPU seconds, and the median
of the ratios is reported. "before" reproduces the earlier step: separate D passes
on real and fake, and D(real) also evaluated in the generator step (a custom loss
without the `generator_uses_real_logits = False` declaration does that).
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_genmodels import GAN  # noqa: E402
from keras_genmodels.gan import losses  # noqa: E402


def _undeclared(real_logits, fake_logits):
    return losses.non_saturating(real_logits, fake_logits)


def build(after, spectral):
    keras.utils.set_random_seed(0)
    gan = GAN(data_shape=(28, 28, 1), seed=0, spectral_normalization=spectral)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        loss="non_saturating" if after else _undeclared,
        joint_discriminator_pass=after,
    )
    return gan


def main(pairs=7, steps=16, batch=64):
    x = np.random.default_rng(0).uniform(size=(steps * batch, 28, 28, 1))
    x = x.astype("float32")
    for spectral in (False, True):
        models = {"before": build(False, spectral), "after": build(True, spectral)}
        for model in models.values():  # trace and warm up
            model.fit(x, batch_size=batch, epochs=1, verbose=0)
        ratios, seconds = [], {"before": [], "after": []}
        for _ in range(pairs):
            for name, model in models.items():
                start = time.process_time()
                model.fit(x, batch_size=batch, epochs=1, verbose=0)
                seconds[name].append((time.process_time() - start) / steps)
            ratios.append(seconds["after"][-1] / seconds["before"][-1])
        print(
            f"spectral_norm={spectral}: CPU s/step before "
            f"{np.median(seconds['before']):.4f}, after "
            f"{np.median(seconds['after']):.4f}; median after/before "
            f"{np.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}, "
            f"{pairs} pairs)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)

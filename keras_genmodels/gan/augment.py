"""Differentiable augmentation of the discriminator's inputs: DiffAugment and ADA."""

from __future__ import annotations

import keras
import tensorflow as tf

OPERATIONS = ("brightness", "saturation", "contrast", "translation", "cutout")
# Uniform numbers each operation consumes per example (after one for "apply?").
_DRAWS = {"brightness": 1, "saturation": 1, "contrast": 1, "translation": 2,
          "cutout": 2}  # fmt: skip


def noise_width(operations) -> int:
    """Uniform numbers per example that `augment` needs for `operations`."""
    return sum(1 + _DRAWS[name] for name in operations)


def augment(x, uniforms, operations, probability=1.0, value_range=(0.0, 1.0)):
    """Applies each operation to each example with `probability`; differentiable.

    A pure function of its inputs: all randomness is in `uniforms`, U[0, 1)
    numbers of shape [batch, noise_width(operations)], so the caller decides
    where they come from (the GAN draws them like its latent noise: distinct on
    every replica, equal to one device). With s = (high - low) / 2, half the
    data's range (s = 1 on the [-1, 1] images of the paper):

        brightness   x + s * (u - 0.5)
        saturation   m_c + (x - m_c) * 2u,        m_c: mean over channels
        contrast     m + (x - m) * (u + 0.5),     m: mean over the image
        translation  shift by round((2u - 1) * size / 8) pixels, zeros enter
        cutout       zero a (H/2) x (W/2) square centred at (u_1 H, u_2 W)

    These are the operations and magnitudes of DiffAugment (Zhao et al. 2020,
    arXiv:2006.10738, "color,translation,cutout"); `probability` < 1 applies each
    one to an example with that probability, as ADA does (Karras et al. 2020,
    arXiv:2006.06676). Vectors (rank-2 data) support the colour operations only.

    Args:
        x: float tensor [batch, H, W, C] (or [batch, features]).
        uniforms: float tensor [batch, noise_width(operations)] in [0, 1).
        operations: sequence of names from `OPERATIONS`.
        probability: float or scalar tensor in [0, 1]. Defaults to 1.
        value_range: (low, high) of the data. Defaults to (0, 1).

    Returns:
        The augmented batch, same shape and dtype as `x`.

    Example:

    >>> x = tf.ones([2, 8, 8, 1]) * 0.5
    >>> u = tf.fill([2, noise_width(["brightness"])], 0.75)
    >>> float(augment(x, u, ["brightness"])[0, 0, 0, 0])
    0.625
    """
    check_operations(operations, len(x.shape))
    scale = (value_range[1] - value_range[0]) / 2.0
    dtype = x.dtype
    uniforms = tf.cast(uniforms, dtype)
    column = 0
    for name in operations:
        apply = uniforms[:, column] < tf.cast(probability, dtype)
        draws = uniforms[:, column + 1 : column + 1 + _DRAWS[name]]
        column += 1 + _DRAWS[name]
        changed = _OPS[name](x, draws, scale)
        mask = tf.reshape(apply, [-1] + [1] * (len(x.shape) - 1))
        x = tf.where(mask, changed, x)
    return x


def check_operations(operations, rank: int) -> None:
    """Raises ValueError for unknown names, or spatial operations on vectors."""
    unknown = [name for name in operations if name not in OPERATIONS]
    if unknown or not operations:
        raise ValueError(
            f"`operations` must be a non-empty list of {', '.join(OPERATIONS)}; "
            f"got {list(operations)!r}."
        )
    spatial = [name for name in operations if name in ("translation", "cutout")]
    if rank != 4 and spatial:
        raise ValueError(
            f"Augmentations {spatial} need images [batch, H, W, C]; the data have "
            f"rank {rank}. Use only brightness, saturation and contrast."
        )


def _per_example(values, like):
    return tf.reshape(values, [-1] + [1] * (len(like.shape) - 1))


def _brightness(x, u, scale):
    return x + scale * (_per_example(u[:, 0], x) - 0.5)


def _saturation(x, u, scale):
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    return mean + (x - mean) * 2.0 * _per_example(u[:, 0], x)


def _contrast(x, u, scale):
    axes = list(range(1, len(x.shape)))
    mean = tf.reduce_mean(x, axis=axes, keepdims=True)
    return mean + (x - mean) * (_per_example(u[:, 0], x) + 0.5)


def _shift(size: int, u):
    """Integer shifts in [-size/8, size/8] from uniforms (round half to even)."""
    limit = int(size * 0.125 + 0.5)
    return tf.cast(tf.round((2.0 * u - 1.0) * limit), tf.int32), limit


def _translation(x, u, scale):
    height, width = int(x.shape[1]), int(x.shape[2])
    dy, pad_y = _shift(height, tf.cast(u[:, 0], tf.float32))
    dx, pad_x = _shift(width, tf.cast(u[:, 1], tf.float32))
    padded = tf.pad(x, [[0, 0], [pad_y, pad_y], [pad_x, pad_x], [0, 0]])
    # Output pixel (i, j) of example b is input pixel (i - dy_b, j - dx_b).
    rows = tf.range(height)[None, :] - dy[:, None] + pad_y
    cols = tf.range(width)[None, :] - dx[:, None] + pad_x
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, cols, axis=2, batch_dims=1)


def _cutout(x, u, scale):
    height, width = int(x.shape[1]), int(x.shape[2])
    u = tf.cast(u, tf.float32)
    centre_y = tf.cast(u[:, 0] * height, tf.int32)[:, None]
    centre_x = tf.cast(u[:, 1] * width, tf.int32)[:, None]
    half_y, half_x = height // 4, width // 4  # a square of half the size
    rows = tf.abs(tf.range(height)[None, :] - centre_y) >= max(half_y, 1)
    cols = tf.abs(tf.range(width)[None, :] - centre_x) >= max(half_x, 1)
    keep = tf.logical_or(rows[:, :, None], cols[:, None, :])
    return x * tf.cast(keep[..., None], x.dtype)


_OPS = {
    "brightness": _brightness,
    "saturation": _saturation,
    "contrast": _contrast,
    "translation": _translation,
    "cutout": _cutout,
}


@keras.saving.register_keras_serializable(package="keras_genmodels")
class Augmentation:
    """What the discriminator sees: DiffAugment, fixed-probability or adaptive (ADA).

    The same kind of random augmentation T is applied to real and generated
    images, in the discriminator's step and in the generator's (the gradient
    flows through T), so D cannot simply memorise the few real images it has
    and G is not taught to generate augmented images:

        D step:  l_D(D(T(x)), D(T(G(z))))       G step:  l_G(D(T(G(z))))

    With `adaptive=True` the probability p of each operation starts at 0 and
    follows the overfitting heuristic of ADA, r_t = E[sign(D(T(x_real)))] over
    the real images of every discriminator step:

        p <- clip(p + sign(r_t - target) * batch / speed, 0, 1)

    so p can go from 0 to 1 within `speed` real images (500k in the paper;
    shorter runs need a faster controller). The GAN logs p as `augment_p`.

    Args:
        operations: str or list. Comma-separated names of `OPERATIONS`.
            Defaults to "brightness,saturation,contrast,translation,cutout"
            (DiffAugment's "color,translation,cutout").
        probability: float. p of each operation when not adaptive; the start
            value when adaptive is 0. Defaults to 1.
        adaptive: bool. Tune p with ADA's heuristic. Defaults to False.
        target: float. ADA's target for r_t. Defaults to 0.6.
        speed: int. Real images over which p can move by 1. Defaults to 100000.

    Example:

    >>> augmentation = Augmentation("translation,cutout", adaptive=True)
    >>> augmentation.operations, augmentation.initial_probability
    (('translation', 'cutout'), 0.0)

    References:
        Zhao et al., Differentiable Augmentation for Data-Efficient GAN
        Training, arXiv:2006.10738.
        Karras et al., Training Generative Adversarial Networks with Limited
        Data, arXiv:2006.06676.
    """

    def __init__(
        self,
        operations="brightness,saturation,contrast,translation,cutout",
        probability=1.0,
        adaptive=False,
        target=0.6,
        speed=100_000,
    ):
        if isinstance(operations, str):
            operations = [name.strip() for name in operations.split(",") if name]
        self.operations = tuple(operations)
        check_operations(self.operations, 4)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"`probability` must be in [0, 1]; got {probability!r}.")
        if not -1.0 < target < 1.0:
            raise ValueError(f"`target` must be in (-1, 1); got {target!r}.")
        if isinstance(speed, bool) or not isinstance(speed, int) or speed < 1:
            raise ValueError(f"`speed` must be a positive integer; got {speed!r}.")
        self.probability = float(probability)
        self.adaptive = bool(adaptive)
        self.target = float(target)
        self.speed = speed

    @property
    def initial_probability(self) -> float:
        return 0.0 if self.adaptive else self.probability

    @property
    def width(self) -> int:
        return noise_width(self.operations)

    def __call__(self, x, uniforms, probability, value_range=(0.0, 1.0)):
        return augment(x, uniforms, self.operations, probability, value_range)

    def updated_probability(self, probability, sign_mean, batch_size):
        """ADA's step: p moved toward more augmentation when r_t > target."""
        step = tf.sign(sign_mean - self.target) * tf.cast(batch_size, tf.float32)
        return tf.clip_by_value(probability + step / self.speed, 0.0, 1.0)

    def get_config(self):
        return {
            "operations": ",".join(self.operations),
            "probability": self.probability,
            "adaptive": self.adaptive,
            "target": self.target,
            "speed": self.speed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def get_augmentation(value) -> Augmentation | None:
    """None, an `Augmentation`, "diffaugment", "ada", or a config dict."""
    if value is None or isinstance(value, Augmentation):
        return value
    if value == "diffaugment":
        return Augmentation()
    if value == "ada":
        return Augmentation(adaptive=True)
    if isinstance(value, dict):
        return keras.saving.deserialize_keras_object(value)
    raise ValueError(
        "`augmentation` must be None, 'diffaugment', 'ada' or an Augmentation; "
        f"got {value!r}."
    )


class AugmentedCriticMixin:
    """The GAN's side of augmentation: T(x) before D, and ADA's probability."""

    def _init_augmentation(self, augmentation):
        self.augmentation = get_augmentation(augmentation)
        self.augment_probability = self.augment_p_tracker = None
        if self.augmentation is None:
            return
        rank = 1 + len(self.data_shape)
        check_operations(self.augmentation.operations, rank)
        # Saved with the model; one value on every replica (all compute the same
        # update from global means, and the first replica's is kept).
        self.augment_probability = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(
                self.augmentation.initial_probability
            ),
            trainable=False,
            name="augment_p",
            aggregation="only_first_replica",
        )
        if self.augmentation.adaptive:
            self.augment_p_tracker = keras.metrics.Mean(name="augment_p")

    def augmented(self, x, training=True):
        """T(x): `x` augmented as D sees it in training (unchanged otherwise).

        The uniforms come from `draw_noise` (distinct per replica, equal to one
        device); the value range is `data_range`, else (0, 1).
        """
        if self.augmentation is None or not training:
            return x
        width = self.augmentation.width
        uniforms = self.draw_noise([tf.shape(x)[0], width], "uniform")
        value_range = self.expected_data_range() or (0.0, 1.0)
        return self.augmentation(
            x, uniforms, self.augment_probability.value, value_range
        )

    def update_augment_probability(self, real_sign):
        """ADA's step from r_t, the global mean of sign(D(T(x_real))) of a D step."""
        share = self.global_mean(real_sign)  # this replica's part of r_t
        count = tf.cast(tf.shape(real_sign)[0], tf.float32)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            share = context.all_reduce("sum", share)
            count = context.all_reduce("sum", count)
        probability = self.augmentation.updated_probability(
            self.augment_probability.value, share, count
        )
        self.augment_probability.assign(probability)

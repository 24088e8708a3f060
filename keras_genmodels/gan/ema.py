"""The averaged generator: a warmed-up exponential moving average of G's weights."""

from __future__ import annotations

import tensorflow as tf


def warmed_up_decay(decay, updates):
    """The decay of the `updates`-th average (0-based): min(decay, (1+t)/(10+t)).

    Early averages then forget the initial network quickly: after T updates it
    keeps prod_t (1+t)/(10+t) = 9! T! / (T+9)! of it (5e-4 after 5 updates,
    8e-11 after 50), while a fixed decay keeps decay^T (0.999^1400 = 25%).

    Example:

    >>> [round(float(warmed_up_decay(0.999, t)), 4) for t in (0, 1, 10, 10000)]
    [0.1, 0.1818, 0.55, 0.999]
    """
    t = tf.cast(updates, tf.float32)
    return tf.minimum(tf.cast(decay, tf.float32), (1.0 + t) / (10.0 + t))


def make_ema_generator(generator, inputs):
    """A frozen copy of `generator` holding its current weights.

    The copy is `type(generator).from_config(generator.get_config())`, built by
    a call on `inputs` (a zero batch), so functional, Sequential and subclassed
    generators all work; a subclassed one must implement `get_config` (Keras
    writes it for constructors that take only plain Python values).

    Raises:
        ValueError: the generator cannot be rebuilt from its config.
    """
    try:
        ema = type(generator).from_config(generator.get_config())
        ema(inputs, training=False)
    except (NotImplementedError, TypeError, ValueError) as error:
        raise ValueError(
            f"`ema_decay` needs a copy of the generator, rebuilt with "
            f"`{type(generator).__name__}.from_config(generator.get_config())`, "
            f"which failed: {error}. Implement `get_config` (returning the "
            "constructor's arguments) in the generator's class, or pass "
            "ema_decay=None."
        ) from error
    ema.name = "ema_generator"
    ema.set_weights(generator.get_weights())
    ema.trainable = False
    return ema


def update_ema(ema_generator, generator, decay, updates):
    """Averages G's trainable weights into `ema_generator`; copies its buffers.

    Trainable weights: w_ema <- d_t * w_ema + (1 - d_t) * w, with d_t =
    `warmed_up_decay(decay, updates)`. Non-trainable weights (BatchNormalization
    moving statistics, spectral-normalisation vectors u) are state the network
    computes, not parameters, so they are copied. Under a `tf.distribute`
    strategy the update runs once, in cross-replica context (`merge_call`).
    """
    trainable = {id(v) for v in generator.trainable_weights}
    pairs = [
        (average, weight, id(weight) in trainable)
        for average, weight in zip(
            ema_generator.weights, generator.weights, strict=True
        )
    ]

    def update(*_):
        d = warmed_up_decay(decay, updates)
        for average, weight, is_trainable in pairs:
            if is_trainable:
                d_t = tf.cast(d, average.dtype)
                average.assign(d_t * average + (1.0 - d_t) * weight)
            else:
                average.assign(weight)

    context = tf.distribute.get_replica_context()
    if tf.distribute.has_strategy() and context is not None:
        context.merge_call(update)  # once, in cross-replica context
    else:
        update()

"""DiffAugment/ADA operations against numpy re-implementations of their formulas."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels.gan.augment import (
    OPERATIONS,
    Augmentation,
    augment,
    get_augmentation,
    noise_width,
)

RNG = np.random.default_rng(0)
X = RNG.uniform(size=(6, 16, 16, 3)).astype("float32")


def _numpy_reference(x, u, operations, p, scale):
    x = x.astype("float64").copy()
    column = 0
    for name in operations:
        width = {"translation": 2, "cutout": 2}.get(name, 1)
        apply, draws = u[:, column] < p, u[:, column + 1 : column + 1 + width]
        column += 1 + width
        out = x.copy()
        for b in range(len(x)):
            if name == "brightness":
                out[b] = x[b] + scale * (draws[b, 0] - 0.5)
            elif name == "saturation":
                m = x[b].mean(axis=-1, keepdims=True)
                out[b] = m + (x[b] - m) * 2 * draws[b, 0]
            elif name == "contrast":
                m = x[b].mean()
                out[b] = m + (x[b] - m) * (draws[b, 0] + 0.5)
            elif name == "translation":
                h, w = x.shape[1:3]
                dy = int(np.round((2 * draws[b, 0] - 1) * int(h / 8 + 0.5)))
                dx = int(np.round((2 * draws[b, 1] - 1) * int(w / 8 + 0.5)))
                out[b] = 0
                for i in range(h):
                    for j in range(w):
                        if 0 <= i - dy < h and 0 <= j - dx < w:
                            out[b, i, j] = x[b, i - dy, j - dx]
            else:  # cutout
                h, w = x.shape[1:3]
                cy, cx = int(draws[b, 0] * h), int(draws[b, 1] * w)
                for i in range(h):
                    for j in range(w):
                        if abs(i - cy) < h // 4 and abs(j - cx) < w // 4:
                            out[b, i, j] = 0
            if apply[b]:
                x[b] = out[b]
    return x


@pytest.mark.parametrize("name", OPERATIONS)
@pytest.mark.parametrize("p", [1.0, 0.5])
def test_each_operation_matches_numpy(name, p):
    u = RNG.uniform(size=(6, noise_width([name]))).astype("float32")
    got = augment(tf.constant(X), tf.constant(u), [name], p)
    want = _numpy_reference(X, u, [name], p, 0.5)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_the_full_policy_in_minus_one_one():
    ops = list(OPERATIONS)
    u = RNG.uniform(size=(6, noise_width(ops))).astype("float32")
    x = 2 * X - 1
    got = augment(tf.constant(x), tf.constant(u), ops, 0.7, value_range=(-1, 1))
    np.testing.assert_allclose(got, _numpy_reference(x, u, ops, 0.7, 1.0), atol=1e-5)


def test_probability_zero_is_identity_and_gradients_flow():
    ops = list(OPERATIONS)
    u = tf.constant(RNG.uniform(size=(6, noise_width(ops))), tf.float32)
    x = tf.constant(X)
    np.testing.assert_array_equal(augment(x, u, ops, 0.0), X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(augment(x, u, ops, 1.0) ** 2)
    gradient = tape.gradient(total, x)
    assert np.isfinite(gradient).all() and np.abs(gradient).sum() > 0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="`operations`.*'blur'"):
        Augmentation("blur")
    with pytest.raises(ValueError, match="need images"):
        augment(tf.zeros([2, 5]), tf.zeros([2, 3]), ["translation"])
    with pytest.raises(ValueError, match="`probability`"):
        Augmentation(probability=1.5)
    with pytest.raises(ValueError, match="`speed`"):
        Augmentation(speed=0)
    with pytest.raises(ValueError, match="`augmentation`"):
        get_augmentation("mixup")


def test_ada_controller_steps_toward_the_target():
    ada = Augmentation(adaptive=True, target=0.6, speed=1000)
    assert ada.initial_probability == 0.0
    up = ada.updated_probability(0.5, sign_mean=0.9, batch_size=100)
    down = ada.updated_probability(0.5, sign_mean=0.1, batch_size=100)
    assert float(up) == pytest.approx(0.6) and float(down) == pytest.approx(0.4)
    assert float(ada.updated_probability(0.95, 1.0, 100)) == 1.0  # clipped


def test_config_round_trip():
    ada = get_augmentation("ada")
    config = keras.saving.serialize_keras_object(ada)
    rebuilt = get_augmentation(json.loads(json.dumps(config)))
    assert rebuilt.get_config() == ada.get_config() and rebuilt.adaptive

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels.vqvae import PixelCNNPrior
from tests.test_case import assert_config_round_trip, assert_saved_model_round_trip

K, GRID = 5, (7, 7)


def _prior(**kwargs):
    kwargs = {"filters": 8, "num_layers": 3, "seed": 0, **kwargs}
    return PixelCNNPrior(num_embeddings=K, grid_shape=GRID, **kwargs)


def _input_gradient(prior, i, j):
    one_hot = tf.one_hot(np.random.default_rng(0).integers(0, K, (1, *GRID)), K)
    with tf.GradientTape() as tape:
        tape.watch(one_hot)
        logits = prior.logits_from_one_hot(one_hot)
        target = tf.reduce_sum(logits[0, i, j] * tf.range(1.0, K + 1))
    return np.abs(tape.gradient(target, one_hot).numpy()[0]).sum(-1)


@pytest.mark.parametrize("position", [(3, 3), (0, 0), (6, 6), (2, 0)])
def test_logits_never_see_the_current_or_later_codes(position):
    prior = _prior()
    i, j = position
    gradient = _input_gradient(prior, i, j)
    later = np.arange(GRID[0] * GRID[1]).reshape(GRID) >= i * GRID[1] + j
    assert gradient[later].max() == 0.0


def test_receptive_field_has_no_blind_spot():
    prior = _prior()  # 3 layers, 3x3: 3 columns left, rows above within +-2
    gradient = _input_gradient(prior, 3, 3)
    for r, c in [(3, 0), (3, 1), (3, 2), (2, 3), (1, 3), (2, 5), (1, 5), (2, 1)]:
        assert gradient[r, c] > 0, (r, c)
    # The up-right corner a plain masked PixelCNN misses (the blind spot).
    assert gradient[2, 4] > 0 and gradient[2, 5] > 0
    assert gradient[3, 4:].max() == 0.0 and gradient[4:].max() == 0.0


def test_fit_lowers_bits_per_code_on_a_predictable_grid():
    keras.utils.set_random_seed(0)
    prior = _prior()
    prior.compile(optimizer=keras.optimizers.Adam(1e-2))
    rng = np.random.default_rng(1)
    # Each row repeats its first code: everything after column 0 is predictable.
    first = rng.integers(0, K, size=(256, GRID[0], 1))
    codes = np.repeat(first, GRID[1], axis=2)
    before = prior.bits_per_code(codes)
    history = prior.fit(codes, epochs=8, batch_size=64, verbose=0)
    after = prior.bits_per_code(codes)
    assert before > 2.0 and after < 0.6 * before
    assert history.history["bits_per_code"][-1] == pytest.approx(
        history.history["loss"][-1] / np.log(2), rel=1e-5
    )
    # The chance floor: the first column is uniform, log2(5) bits per row.
    assert after > np.log2(K) / GRID[1] * 0.8
    samples = prior.sample_codes(64, seed=3)
    repeated = (samples == samples[:, :, :1]).mean()
    assert repeated > 0.8


def test_sampling_is_reproducible_and_in_range():
    prior = _prior()
    a, b = prior.sample_codes(4, seed=11), prior.sample_codes(4, seed=11)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, *GRID) and a.dtype == np.int32
    assert a.min() >= 0 and a.max() < K
    assert not np.array_equal(a, prior.sample_codes(4, seed=12))
    assert not np.array_equal(prior.sample_codes(4), prior.sample_codes(4))


def test_round_trips_and_bad_codes(tmp_path):
    prior = _prior(kernel_size=5)
    assert_config_round_trip(prior)
    codes = np.random.default_rng(0).integers(0, K, (3, *GRID))
    assert_saved_model_round_trip(prior, tmp_path, lambda m: [m(codes)], atol=1e-6)
    prior.compile()
    with pytest.raises(ValueError, match="`x` must hold integer.*float"):
        prior.fit(codes.astype("float32"), verbose=0)
    floats = tf.data.Dataset.from_tensor_slices(codes.astype("float32")).batch(2)
    with pytest.raises(ValueError, match="`x` must yield integer code grids.*float32"):
        prior.fit(floats, verbose=0)
    history = prior.fit(
        tf.data.Dataset.from_tensor_slices(codes).batch(2), epochs=2, verbose=0
    )
    assert np.isfinite(history.history["bits_per_code"]).all()
    with pytest.raises(ValueError, match=r"`codes` has values in \[1, 5\].*\[0, 5\)"):
        prior.bits_per_code(codes + 1)
    with pytest.raises(
        ValueError, match=r"`codes` has shape \(3, 7, 6\).*\(batch, 7, 7"
    ):
        prior.bits_per_code(codes[:, :, :6])
    with pytest.raises(ValueError, match="`num_samples`.*0"):
        prior.sample_codes(0)
    with pytest.raises(ValueError, match="`kernel_size`.*4"):
        _prior(kernel_size=4)

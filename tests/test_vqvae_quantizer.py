import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels.vqvae import VectorQuantizer
from keras_genmodels.vqvae.quantizer import gather_rows
from tests.test_case import assert_config_round_trip

RNG = np.random.default_rng(0)


def _numpy_nearest(z, codebook):
    flat = z.reshape(-1, codebook.shape[1]).astype(np.float64)
    distances = ((flat[:, None, :] - codebook[None].astype(np.float64)) ** 2).sum(-1)
    return distances.argmin(1).reshape(z.shape[:-1])


def test_codes_are_the_numpy_nearest_neighbours():
    vq = VectorQuantizer(num_embeddings=7, embedding_dim=3, seed=1)
    z = RNG.normal(size=(4, 5, 5, 3)).astype("float32")
    out = vq(z)
    codebook = vq.codebook.numpy()
    expected = _numpy_nearest(z, codebook)
    np.testing.assert_array_equal(out["codes"].numpy(), expected)
    np.testing.assert_allclose(out["quantized"].numpy(), codebook[expected], atol=1e-6)
    commitment = ((z - codebook[expected]) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(out["commitment_loss"].numpy(), commitment, rtol=1e-5)
    np.testing.assert_allclose(out["codebook_loss"].numpy(), commitment, rtol=1e-5)


def test_straight_through_gradient_equals_the_gradient_at_z_q():
    vq = VectorQuantizer(num_embeddings=5, embedding_dim=2, seed=0)
    z = tf.constant(RNG.normal(size=(3, 4, 4, 2)).astype("float32"))
    weights = tf.constant(RNG.normal(size=(3, 4, 4, 2)).astype("float32"))

    def loss(t):
        return tf.reduce_sum(tf.sin(t) * weights)

    with tf.GradientTape() as tape:
        tape.watch(z)
        out = vq(z)
        value = loss(out["quantized"])
    through = tape.gradient(value, z).numpy()
    z_q = tf.constant(out["quantized"].numpy())
    with tf.GradientTape() as tape:
        tape.watch(z_q)
        value = loss(z_q)
    np.testing.assert_allclose(through, tape.gradient(value, z_q).numpy(), atol=1e-6)
    assert np.abs(through).max() > 0.1


def test_commitment_and_codebook_loss_gradients():
    vq = VectorQuantizer(num_embeddings=5, embedding_dim=2, codebook_update="loss")
    z = tf.constant(RNG.normal(size=(2, 3, 3, 2)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(z)
        out = vq(z)
        commitment = tf.reduce_sum(out["commitment_loss"])
        codebook = tf.reduce_sum(out["codebook_loss"])
    assert vq.codebook.trainable
    assert tape.gradient(commitment, vq.codebook) is None
    assert tape.gradient(codebook, z) is None
    z_q = vq.codebook.numpy()[out["codes"].numpy()]
    np.testing.assert_allclose(
        tape.gradient(commitment, z).numpy(), 2 * (z.numpy() - z_q) / 18, atol=1e-6
    )


def test_ema_update_matches_the_numpy_formulas():
    vq = VectorQuantizer(
        num_embeddings=6, embedding_dim=2, decay=0.9, restart_after=0, seed=2
    )
    vq.cluster_size.assign(RNG.uniform(0.5, 3, size=6).astype("float32"))
    vq.embedding_sum.assign(RNG.normal(size=(6, 2)).astype("float32"))
    size, total_sum = vq.cluster_size.numpy(), vq.embedding_sum.numpy()
    z = RNG.normal(size=(8, 3, 3, 2)).astype("float32")
    codes = vq.nearest(z)
    vq.update(z, codes)

    flat, flat_codes = z.reshape(-1, 2), codes.numpy().ravel()
    n = np.bincount(flat_codes, minlength=6).astype(np.float64)
    s = np.zeros((6, 2))
    np.add.at(s, flat_codes, flat)
    size = 0.9 * size + 0.1 * n
    m = 0.9 * total_sum + 0.1 * s
    smoothed = (size + 1e-5) / (size.sum() + 6e-5) * size.sum()
    np.testing.assert_allclose(vq.cluster_size.numpy(), size, rtol=1e-5)
    np.testing.assert_allclose(vq.embedding_sum.numpy(), m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vq.codebook.numpy(), m / smoothed[:, None], rtol=1e-5)


def test_perplexity_and_usage_match_numpy():
    vq = VectorQuantizer(num_embeddings=8, embedding_dim=2)
    codes = RNG.integers(0, 5, size=(4, 6, 6)).astype("int32")
    perplexity, usage = vq.statistics(vq.counts(codes))
    p = np.bincount(codes.ravel(), minlength=8) / codes.size
    nonzero = p[p > 0]
    np.testing.assert_allclose(
        perplexity.numpy(), np.exp(-(nonzero * np.log(nonzero)).sum()), rtol=1e-5
    )
    assert usage.numpy() == pytest.approx(len(nonzero) / 8)
    one, _ = vq.statistics(vq.counts(np.zeros((2, 3, 3), "int32")))
    assert one.numpy() == pytest.approx(1.0)


@pytest.mark.parametrize("codebook_update", ["ema", "loss"])
def test_dead_codes_restart_at_encoder_outputs(codebook_update):
    vq = VectorQuantizer(
        num_embeddings=4,
        embedding_dim=2,
        restart_after=2,
        codebook_update=codebook_update,
        seed=3,
    )
    vq.codebook.assign(np.array([[0, 0], [1, 1], [50, 50], [-50, 50]], "float32"))
    vq.embedding_sum.assign(vq.codebook)
    z = RNG.uniform(0, 1, size=(2, 3, 3, 2)).astype("float32")
    vq.update(z, vq.nearest(z))  # codes 2 and 3 unused once: kept
    assert vq.steps_unused.numpy()[2:].tolist() == [1, 1]
    assert vq.codebook.numpy()[2:].max() > 40
    vq.update(z, vq.nearest(z))  # unused twice: restarted
    codebook = vq.codebook.numpy()
    rows = z.reshape(-1, 2)
    for k in (2, 3):
        assert np.abs(rows - codebook[k]).sum(1).min() < 1e-6
    assert vq.steps_unused.numpy().tolist() == [0, 0, 0, 0]
    if codebook_update == "ema":
        np.testing.assert_array_equal(vq.cluster_size.numpy()[2:], [1, 1])
        np.testing.assert_allclose(vq.embedding_sum.numpy()[2:], codebook[2:])
    assert {2, 3} & set(vq.nearest(z).numpy().ravel().tolist())


def test_restart_rows_on_two_replicas_equal_one_device(mirrored_strategy):
    rows = RNG.normal(size=(7, 3)).astype("float32")
    indices = tf.constant([6, 0, 3, 4, 2], tf.int32)
    split = tf.data.Dataset.from_tensor_slices(rows).batch(7)
    batch = next(iter(mirrored_strategy.experimental_distribute_dataset(split)))
    local = mirrored_strategy.experimental_local_results(batch)
    assert [len(part) for part in local] == [4, 3]
    per_replica = mirrored_strategy.run(
        tf.function(lambda r: gather_rows(r, indices)), args=(batch,)
    )
    for result in mirrored_strategy.experimental_local_results(per_replica):
        np.testing.assert_array_equal(result.numpy(), rows[indices.numpy()])


def test_config_round_trip_and_bad_arguments():
    rebuilt = assert_config_round_trip(
        VectorQuantizer(
            num_embeddings=9,
            embedding_dim=3,
            codebook_update="loss",
            decay=0.5,
            restart_after=7,
            seed=4,
        )
    )
    assert rebuilt.codebook.shape == (9, 3) and rebuilt.restart_after == 7
    with pytest.raises(ValueError, match="`codebook_update`.*'kmeans'.*ema, loss"):
        VectorQuantizer(codebook_update="kmeans")
    with pytest.raises(ValueError, match="`num_embeddings`.*0"):
        VectorQuantizer(num_embeddings=0)
    with pytest.raises(ValueError, match="`decay`.*1.5"):
        VectorQuantizer(decay=1.5)
    with pytest.raises(ValueError, match="`restart_after`.*-1"):
        VectorQuantizer(restart_after=-1)

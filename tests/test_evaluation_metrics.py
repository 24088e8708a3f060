"""Tests for FID, KID, precision/recall and mode coverage on feature vectors."""

import warnings

import numpy as np
import pytest
import scipy.linalg
from scipy.spatial.distance import cdist

from keras_genmodels.evaluation import metrics
from keras_genmodels.evaluation.metrics import (
    frechet_distance,
    kernel_distance,
    mode_coverage,
    precision_recall,
)


# ---- independent reference implementations -----------------------------------------
def _psd_sqrt(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def _gaussian_frechet(mu_a, cov_a, mu_b, cov_b):
    """Closed form via Tr((S_a S_b)^1/2) = Tr((S_a^1/2 S_b S_a^1/2)^1/2) (eigh)."""
    root_a = _psd_sqrt(cov_a)
    middle = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    diff = mu_a - mu_b
    return diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root


def _reference_fid(a, b):
    return _gaussian_frechet(
        a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    )


def _reference_mmd2(x, y):
    """The unbiased estimator written out with explicit index sets."""
    d, m = x.shape[1], len(x)

    def k(u, v):
        return (u @ v.T / d + 1) ** 3

    off = ~np.eye(m, dtype=bool)
    return k(x, x)[off].mean() + k(y, y)[off].mean() - 2 * k(x, y).mean()


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(250, 6)) * 1.5 + 0.3
    return a, b


# ---- FID ---------------------------------------------------------------------------
def test_fid_of_identical_sets_is_zero(features):
    assert abs(frechet_distance(features[0], features[0])) < 1e-6


def test_fid_matches_an_independent_implementation(features):
    a, b = features
    np.testing.assert_allclose(frechet_distance(a, b), _reference_fid(a, b), 1e-9)


def test_fid_converges_to_the_closed_form():
    rng = np.random.default_rng(1)
    m_a, m_b = rng.normal(size=(2, 4, 4))
    cov_a, cov_b = m_a @ m_a.T / 4 + 0.5 * np.eye(4), m_b @ m_b.T / 4 + 0.5 * np.eye(4)
    mu_a, mu_b = np.zeros(4), np.array([0.5, -0.5, 0.25, 0.0])
    exact = _gaussian_frechet(mu_a, cov_a, mu_b, cov_b)
    x = rng.multivariate_normal(mu_a, cov_a, size=20000)
    y = rng.multivariate_normal(mu_b, cov_b, size=20000)
    assert frechet_distance(x, y) == pytest.approx(exact, rel=0.05)


def test_fid_with_singular_covariances():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(20, 40)), rng.normal(size=(20, 40)) + 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's LinAlgWarning must not leak
        value = frechet_distance(a, b)
    assert value == pytest.approx(_reference_fid(a, b), rel=1e-4)


def test_fid_falls_back_when_sqrtm_fails(features, monkeypatch):
    a, b = features
    calls = []

    def failing(matrix):
        calls.append(matrix)
        raise np.linalg.LinAlgError("no square root")

    monkeypatch.setattr(scipy.linalg, "sqrtm", failing)
    # sqrtm fails twice (plain, then eps-regularised): eigenvalue fallback.
    assert frechet_distance(a, b) == pytest.approx(_reference_fid(a, b), rel=1e-8)
    assert len(calls) == 2


def test_fid_regularises_when_the_plain_sqrtm_fails(features, monkeypatch):
    a, b = features
    real_sqrtm, calls = scipy.linalg.sqrtm, []

    def nan_first(matrix):  # the plain root is NaN, the regularised one real
        calls.append(matrix)
        return np.full_like(matrix, np.nan) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(scipy.linalg, "sqrtm", nan_first)
    assert frechet_distance(a, b) == pytest.approx(_reference_fid(a, b), rel=1e-5)
    assert len(calls) == 2 and not np.allclose(calls[0], calls[1])


def test_fid_warns_about_an_imaginary_residue(features, monkeypatch):
    a, b = features
    real = metrics._sqrtm
    monkeypatch.setattr(metrics, "_sqrtm", lambda m: real(m) + 0.5j * np.eye(len(m)))
    with pytest.warns(RuntimeWarning, match="imaginary component of magnitude 0.5"):
        value = frechet_distance(a, b)
    assert np.isfinite(value)


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (np.zeros((1, 3)), np.zeros((5, 3)), "at least 2"),
        (np.zeros((5, 3)), np.zeros((5, 4)), "Feature sizes differ"),
        (np.zeros(5), np.zeros((5, 1)), "2-D"),
        (np.full((5, 2), np.nan), np.zeros((5, 2)), "NaN"),
    ],
)
def test_fid_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        frechet_distance(a, b)


# ---- KID ---------------------------------------------------------------------------
def test_kid_equals_an_independent_implementation(features):
    a, b = features[0][:200], features[1][:200]
    kid = kernel_distance(a, b, num_subsets=1, subset_size=100)
    rng = np.random.default_rng(0)  # the documented draw: a's rows, then b's
    i, j = rng.choice(200, 100, replace=False), rng.choice(200, 100, replace=False)
    assert kid.mean == pytest.approx(_reference_mmd2(a[i], b[j]), rel=1e-10)
    assert kid.std == 0.0 and kid.subset_size == 100


def test_kid_spread_is_real_below_the_default_subset_size():
    # 500 samples, the default subset size 1000: subsets of 250 (half of each
    # set), so the spread is that of the reference over the same subsets, not 0.
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(500, 6)), rng.normal(size=(500, 6)) + 0.3
    kid = kernel_distance(a, b, num_subsets=20, seed=7)
    assert kid.subset_size == 250
    draws = np.random.default_rng(7)
    values = []
    for _ in range(20):
        i = draws.choice(500, 250, replace=False)
        j = draws.choice(500, 250, replace=False)
        values.append(_reference_mmd2(a[i], b[j]))
    assert kid.mean == pytest.approx(np.mean(values), rel=1e-9)
    assert kid.std == pytest.approx(np.std(values), rel=1e-6)
    assert kid.std > 0.05 * abs(kid.mean)


def test_kid_of_identical_distributions_is_about_zero():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(900, 8)), rng.normal(size=(1200, 8))
    kid = kernel_distance(a, b, num_subsets=3)
    assert kid.subset_size == 450 and kid.num_subsets == 3  # capped at n // 2
    kid = kernel_distance(rng.normal(size=(600, 8)), rng.normal(size=(600, 8)), 50, 200)
    assert abs(kid.mean) < 3 * kid.std
    shifted = kernel_distance(
        rng.normal(size=(600, 8)), rng.normal(size=(600, 8)) + 0.5, 50, 200
    )
    assert shifted.mean > 5 * shifted.std


def test_kid_is_seeded_and_validates(features):
    a, b = features
    assert kernel_distance(a, b, 5, 50, seed=1) == kernel_distance(a, b, 5, 50, seed=1)
    with pytest.raises(ValueError, match="num_subsets"):
        kernel_distance(a, b, num_subsets=0)


# ---- precision / recall ------------------------------------------------------------
def test_precision_recall_of_identical_and_disjoint_sets():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(200, 5))
    same = precision_recall(real, real.copy())
    assert (same.precision, same.recall) == (1.0, 1.0)
    far = precision_recall(real, rng.normal(size=(150, 5)) + 50.0)
    assert (far.precision, far.recall) == (0.0, 0.0)


def test_precision_recall_equals_a_brute_force_count():
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(80, 3)), rng.normal(size=(60, 3)) * 1.5 + 0.5

    def inside(manifold, queries, k):
        distances = cdist(manifold, manifold)
        radii = np.sort(distances, axis=1)[:, k]  # column 0 is the point itself
        return np.mean([np.any(cdist(q[None], manifold)[0] <= radii) for q in queries])

    result = precision_recall(real, fake, k=4, chunk_size=7)  # several chunks
    assert result.precision == pytest.approx(inside(real, fake, 4))
    assert result.recall == pytest.approx(inside(fake, real, 4))
    with pytest.raises(ValueError, match="at least 5"):
        precision_recall(real[:4], fake, k=4)


# ---- mode coverage -----------------------------------------------------------------
def test_mode_coverage_counts_classes():
    coverage = mode_coverage([0, 0, 0, 2, 2, 5], num_classes=6)
    assert coverage.num_covered == 3 and coverage.num_classes == 6
    assert coverage.histogram == (0.5, 0.0, 1 / 3, 0.0, 0.0, 1 / 6)
    expected = sum(p * np.log(p * 6) for p in (0.5, 1 / 3, 1 / 6))
    assert coverage.kl_divergence == pytest.approx(expected, rel=1e-6)


def test_mode_coverage_from_probabilities_and_a_reference():
    probs = np.eye(3)[[0, 1, 1, 2]] * 0.8 + 0.05
    reference = np.array([0.25, 0.5, 0.25])
    coverage = mode_coverage(probs, 3, reference_distribution=reference)
    assert coverage.num_covered == 3 and coverage.kl_divergence == pytest.approx(0)
    # A class the reference lacks: large but finite thanks to the epsilon.
    lacking = mode_coverage([0, 1], 2, reference_distribution=[1.0, 0.0])
    assert 5 < lacking.kl_divergence < np.inf


@pytest.mark.parametrize(
    ("values", "kwargs", "match"),
    [
        ([0, 3], {}, "< num_classes=3"),
        ([-1, 0], {}, "non-negative"),
        ([[0.5, 0.5]], {}, "columns"),
        ([0, 1], {"reference_distribution": [0.5, 0.6, 0.1]}, "summing to 1"),
        ([], {}, "n >= 1"),
    ],
)
def test_mode_coverage_rejects_bad_input(values, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mode_coverage(values, 3, **kwargs)

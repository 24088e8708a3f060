"""Sample-quality metrics on feature vectors: FID, KID, precision/recall, modes."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import scipy.linalg

# Relative size of the imaginary part of sqrt(S1 S2) above which FID warns.
_IMAGINARY_TOLERANCE = 1e-3
# Relative error ||X X - A||_F / ||A||_F above which sqrtm's result is not trusted.
_SQRTM_TOLERANCE = 1e-5


def _features(x, arg: str, min_samples: int = 2) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(
            f"{arg} must be a 2-D array (samples, features); got {x.shape}."
        )
    if len(x) < min_samples:
        raise ValueError(
            f"{arg} has {len(x)} samples; at least {min_samples} are needed."
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{arg} contains NaN or infinite values.")
    return x


def _pair(a, b, min_samples: int = 2) -> tuple[np.ndarray, np.ndarray]:
    a = _features(a, "features_a", min_samples)
    b = _features(b, "features_b", min_samples)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"Feature sizes differ: features_a has {a.shape[1]}, features_b has "
            f"{b.shape[1]}; both must come from the same extractor."
        )
    return a, b


def _sqrtm(matrix: np.ndarray) -> np.ndarray | None:
    """scipy's sqrtm, or None when it fails or its result does not square back."""
    try:
        with warnings.catch_warnings():  # judged below by the residual instead
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            root = scipy.linalg.sqrtm(matrix)
    except (np.linalg.LinAlgError, ValueError):
        return None
    if not np.all(np.isfinite(root)):
        return None
    error = np.linalg.norm(root @ root - matrix) / max(np.linalg.norm(matrix), 1e-300)
    return root if error <= _SQRTM_TOLERANCE else None


def _real_part(root: np.ndarray) -> np.ndarray:
    """Drops round-off imaginary parts; warns when they are not negligible."""
    if not np.iscomplexobj(root):
        return root
    residue = float(np.max(np.abs(np.diagonal(root).imag)))
    scale = max(1.0, float(np.max(np.abs(np.diagonal(root).real))))
    if residue > _IMAGINARY_TOLERANCE * scale:
        warnings.warn(
            "frechet_distance: the square root of S_a S_b has an imaginary "
            f"component of magnitude {residue:.3g} (diagonal scale {scale:.3g}); "
            "the covariances are ill-conditioned, use more samples.",
            RuntimeWarning,
            stacklevel=3,
        )
    return root.real


def frechet_distance(features_a, features_b, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (FID).

        FID = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2})

    Means and (unbiased) covariances are computed in float64. The matrix square
    root is `scipy.linalg.sqrtm`; when it fails, is not finite or does not square
    back to S_a S_b (singular covariances, e.g. fewer samples than features), it
    is recomputed for (S_a + eps I)(S_b + eps I), and if that fails too the trace
    is taken from the eigenvalues of S_a S_b (real and >= 0 for PSD matrices).
    A tiny imaginary part from round-off is dropped; a non-negligible one (above
    1e-3 relative to the diagonal) triggers a `RuntimeWarning` naming its size.
    FID is biased upwards for small sample counts: compare it at equal counts.

    Args:
        features_a: array-like. Features (n_a, d), e.g. of real images.
        features_b: array-like. Features (n_b, d), e.g. of generated images.
        eps: float. Diagonal offset of the fallback square root. Defaults to 1e-6.

    Returns:
        The distance as a Python float (>= 0 up to round-off).

    Raises:
        ValueError: for fewer than 2 samples, different feature sizes, or
            non-finite features.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(500, 3))
    >>> frechet_distance(a, a) < 1e-9, round(frechet_distance(a, a + 1.0), 6)
    (True, 3.0)

    References:
        Heusel et al., GANs Trained by a Two Time-Scale Update Rule Converge to a
        Local Nash Equilibrium, arXiv:1706.08500.
    """
    a, b = _pair(features_a, features_b)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a = np.atleast_2d(np.cov(a, rowvar=False))
    s_b = np.atleast_2d(np.cov(b, rowvar=False))
    root = _sqrtm(s_a @ s_b)
    if root is None:
        offset = eps * np.eye(len(s_a))
        root = _sqrtm((s_a + offset) @ (s_b + offset))
    if root is None:  # last resort: S_a S_b has real eigenvalues >= 0 (both PSD)
        eigenvalues = np.linalg.eigvals(s_a @ s_b).real
        trace_root = float(np.sum(np.sqrt(np.maximum(eigenvalues, 0.0))))
    else:
        trace_root = float(np.trace(_real_part(root)))
    diff = mu_a - mu_b
    value = diff @ diff + np.trace(s_a) + np.trace(s_b) - 2.0 * trace_root
    return float(value)


@dataclasses.dataclass(frozen=True)
class KernelDistance:
    """KID estimate: mean and standard deviation of MMD^2 over random subsets."""

    mean: float
    std: float
    num_subsets: int
    subset_size: int


def _cubic_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    k = x @ y.T
    k /= x.shape[1]
    k += 1.0
    return k * k * k  # faster than k ** 3


def _polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the kernel k(u, v) = (u.v / d + 1)^3."""
    m = len(x)
    k_xx, k_yy = _cubic_kernel(x, x), _cubic_kernel(y, y)
    within = k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)
    return float(within / (m * (m - 1)) - 2.0 * _cubic_kernel(x, y).mean())


def kernel_distance(
    features_a,
    features_b,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int | None = 0,
) -> KernelDistance:
    """Kernel Inception Distance: unbiased MMD^2 with a cubic polynomial kernel.

        k(x, y) = (x . y / d + 1)^3
        MMD^2 = sum_{i!=j} [k(a_i, a_j) + k(b_i, b_j)] / (m (m - 1))
                - 2 sum_{i,j} k(a_i, b_j) / m^2

    computed on `num_subsets` random subsets of m = min(subset_size, n_a // 2,
    n_b // 2) examples of each set (drawn without replacement, at least 2). The
    cap at half of each set keeps the subsets different from one another, so
    `std` measures the spread of the estimate even for a few hundred samples (a
    subset as large as the set would be the set itself every time, std 0).
    Unlike FID the estimator is unbiased, so values near 0 (even slightly
    negative) mean "same distribution". The value scales with the feature
    magnitude: compare it within one extractor.

    Args:
        features_a: array-like. Features (n_a, d).
        features_b: array-like. Features (n_b, d).
        num_subsets: int. Number of subsets. Defaults to 100.
        subset_size: int. Examples per subset (capped at n_a // 2 and n_b // 2).
            Defaults to 1000.
        seed: int or None. Seed of the subset draws. Defaults to 0.

    Returns:
        A `KernelDistance(mean, std, num_subsets, subset_size)` with the subset
        size actually used.

    Raises:
        ValueError: as `frechet_distance`, or for non-positive subset arguments.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> kid = kernel_distance(rng.normal(size=(200, 4)), rng.normal(size=(200, 4)),
    ...                       num_subsets=10, subset_size=100)
    >>> abs(kid.mean) < 3 * kid.std, kid.subset_size
    (True, 100)

    References:
        Binkowski et al., Demystifying MMD GANs, arXiv:1801.01401.
    """
    a, b = _pair(features_a, features_b)
    for name, value in (("num_subsets", num_subsets), ("subset_size", subset_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    m = max(2, min(subset_size, len(a) // 2, len(b) // 2))
    rng = np.random.default_rng(seed)
    values = [
        _polynomial_mmd2(
            a[rng.choice(len(a), m, replace=False)],
            b[rng.choice(len(b), m, replace=False)],
        )
        for _ in range(num_subsets)
    ]
    return KernelDistance(
        float(np.mean(values)), float(np.std(values)), num_subsets, int(m)
    )


@dataclasses.dataclass(frozen=True)
class PrecisionRecall:
    """Improved precision and recall of generated versus real samples."""

    precision: float
    recall: float
    k: int


def _squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    return np.maximum(d, 0.0)


def _knn_radii(x: np.ndarray, k: int, chunk: int) -> np.ndarray:
    """Squared distance of each row of x to its k-th nearest other row."""
    radii = np.empty(len(x))
    for start in range(0, len(x), chunk):
        d = _squared_distances(x[start : start + chunk], x)
        # Column k of the sorted row: index 0 is the point itself (distance 0).
        radii[start : start + chunk] = np.partition(d, k, axis=1)[:, k]
    return radii


def _coverage(manifold: np.ndarray, radii: np.ndarray, queries: np.ndarray, chunk):
    """Fraction of queries inside at least one ball (manifold_i, radius_i)."""
    inside = np.zeros(len(queries), dtype=bool)
    for start in range(0, len(queries), chunk):
        d = _squared_distances(queries[start : start + chunk], manifold)
        inside[start : start + chunk] = np.any(d <= radii[None, :], axis=1)
    return float(inside.mean())


def precision_recall(
    real_features, fake_features, k: int = 3, chunk_size: int = 1000
) -> PrecisionRecall:
    """Improved precision and recall with k-nearest-neighbour manifolds.

    Each set's manifold is the union of balls around its points with radius the
    distance to the k-th nearest neighbour in the same set:

        precision = fraction of fake points inside the real manifold (fidelity)
        recall    = fraction of real points inside the fake manifold (diversity)

    Args:
        real_features: array-like. Real features (n_r, d), n_r > k.
        fake_features: array-like. Generated features (n_f, d), n_f > k.
        k: int. Neighbour rank of the radii. Defaults to 3, the paper's choice.
        chunk_size: int. Rows per block of pairwise distances (memory bound).
            Defaults to 1000.

    Returns:
        A `PrecisionRecall(precision, recall, k)`, both in [0, 1].

    Raises:
        ValueError: as `frechet_distance`, or if a set has at most k samples.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(100, 2))
    >>> precision_recall(real, real + 100.0)
    PrecisionRecall(precision=0.0, recall=0.0, k=3)

    References:
        Kynkaanniemi et al., Improved Precision and Recall Metric for Assessing
        Generative Models, arXiv:1904.06991.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}.")
    real, fake = _pair(real_features, fake_features, min_samples=k + 1)
    real_radii = _knn_radii(real, k, chunk_size)
    fake_radii = _knn_radii(fake, k, chunk_size)
    return PrecisionRecall(
        precision=_coverage(real, real_radii, fake, chunk_size),
        recall=_coverage(fake, fake_radii, real, chunk_size),
        k=k,
    )


@dataclasses.dataclass(frozen=True)
class ModeCoverage:
    """Class histogram of generated samples and how far it is from a reference."""

    histogram: tuple[float, ...]
    num_covered: int
    num_classes: int
    kl_divergence: float


def mode_coverage(
    labels_or_probs,
    num_classes: int,
    reference_distribution=None,
    eps: float = 1e-10,
) -> ModeCoverage:
    """Counts the classes a generator produces, with KL(histogram || reference).

    Class probabilities (n, num_classes) are turned into labels by argmax. A class
    is covered when at least one sample falls in it. Both distributions are
    smoothed as p_eps = (p + eps) / (1 + num_classes * eps) before

        KL(p || q) = sum_c p_eps[c] log(p_eps[c] / q_eps[c])

    so an empty bin of the histogram contributes ~0 and a reference class of
    probability 0 gives a large finite value instead of infinity.

    Args:
        labels_or_probs: array-like. Integer labels (n,) or probabilities
            (n, num_classes) of the generated samples.
        num_classes: int. Number of classes.
        reference_distribution: array-like or None. Reference class
            probabilities (num_classes,), e.g. the training set's label
            frequencies; None means uniform. Defaults to None.
        eps: float. Smoothing of both distributions. Defaults to 1e-10.

    Returns:
        A `ModeCoverage(histogram, num_covered, num_classes, kl_divergence)`.

    Raises:
        ValueError: for labels outside [0, num_classes), a wrong shape, or a
            reference that is not a probability vector.

    Example:

    >>> coverage = mode_coverage([0, 0, 1, 1], num_classes=4)
    >>> coverage.num_covered, coverage.histogram, round(coverage.kl_divergence, 4)
    (2, (0.5, 0.5, 0.0, 0.0), 0.6931)
    """
    values = np.asarray(labels_or_probs)
    if values.ndim == 2:
        if values.shape[1] != num_classes:
            raise ValueError(
                f"labels_or_probs has {values.shape[1]} columns; expected "
                f"num_classes={num_classes}."
            )
        values = values.argmax(axis=1)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(
            "labels_or_probs must be labels (n,) or probabilities (n, num_classes) "
            f"with n >= 1; got shape {np.shape(labels_or_probs)}."
        )
    if not np.all(values == np.round(values)) or values.min() < 0:
        raise ValueError("labels must be non-negative integers.")
    if values.max() >= num_classes:
        raise ValueError(
            f"labels must be < num_classes={num_classes}; got {int(values.max())}."
        )
    counts = np.bincount(values.astype(np.int64), minlength=num_classes)
    p = counts / counts.sum()
    if reference_distribution is None:
        q = np.full(num_classes, 1.0 / num_classes)
    else:
        q = np.asarray(reference_distribution, dtype=np.float64)
        if q.shape != (num_classes,) or q.min() < 0 or not math.isclose(q.sum(), 1):
            raise ValueError(
                f"reference_distribution must be {num_classes} non-negative "
                "probabilities summing to 1."
            )
    p_eps = (p + eps) / (1 + num_classes * eps)
    q_eps = (q + eps) / (1 + num_classes * eps)
    kl = float(np.sum(p_eps * np.log(p_eps / q_eps)))
    return ModeCoverage(
        tuple(float(v) for v in p), int(np.count_nonzero(counts)), num_classes, kl
    )

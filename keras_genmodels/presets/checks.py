"""A preset's quick re-measurement: its card's numbers at a small sample count.

`remeasure` evaluates a loaded preset the way `keras-genmodels evaluate` does,
with fewer samples (`QUICK_SAMPLES` generated images, K = `QUICK_IWAE` for an
IWAE bound); `compare` checks the result against the numbers on the card:

- KID is unbiased in the sample count (Binkowski et al. 2018, arXiv:1801.01401),
  so the small-count KID must lie within three times its spread over subsets
  plus `KID_TOLERANCE` (relative) of the card's; FID is biased upward at small
  counts and is not compared.
- Mode coverage may lose at most one class at the small count.
- The family's held-out numbers (e.g. a VAE's negative ELBO, a VQ-VAE's
  reconstruction error) use the whole test split either way and must agree to
  `RELATIVE_TOLERANCE`; the IWAE bound with K = 100 lies between the card's
  K = 1000 value and the ELBO (up to that tolerance).
"""

from __future__ import annotations

from typing import Any

QUICK_SAMPLES = 500
QUICK_IWAE = 100
KID_TOLERANCE = 0.1
RELATIVE_TOLERANCE = 0.02


def remeasure(
    model, dataset: str, seed: int = 1, iwae_samples: int = QUICK_IWAE
) -> dict[str, Any]:
    """The card's metrics of `model` at the small sample count.

    `iwae_samples` is the K of an IWAE bound (any K >= 1 lies between the
    card's K = 1000 value and the ELBO).
    """
    from keras_genmodels.evaluation import evaluate_generator
    from keras_genmodels.registry import family_of

    samples = evaluate_generator(
        model,
        dataset,
        QUICK_SAMPLES,
        seed=seed,
        kid_subset_size=QUICK_SAMPLES // 2,
    )
    report = family_of(model).report(
        model, dataset, iwae_samples=iwae_samples, seed=seed
    )
    report.pop("summary", None)
    return {"samples": samples, **report}


def compare(card: dict[str, Any], measured: dict[str, Any]) -> list[str]:
    """The disagreements between a card's metrics and `remeasure`'s (empty: ok)."""
    problems = []
    kid, quick = card["samples"]["kid_mean"], measured["samples"]
    allowed = KID_TOLERANCE * abs(kid) + 3 * quick["kid_std"]
    if abs(quick["kid_mean"] - kid) > allowed:
        problems.append(
            f"KID {quick['kid_mean']:.4f} at {QUICK_SAMPLES} samples vs {kid:.4f} "
            f"on the card (allowed difference {allowed:.4f})"
        )
    coverage = card["samples"].get("mode_coverage")
    if coverage:
        found = quick["mode_coverage"]["num_covered"]
        if found < coverage["num_covered"] - 1:
            problems.append(
                f"{found} classes covered vs {coverage['num_covered']} on the card"
            )
    for section, values in card.items():
        if section == "samples" or not isinstance(values, dict):
            continue
        for key, value in values.items():
            again = measured.get(section, {}).get(key)
            if key.startswith("iwae"):  # depends on K: checked below
                continue
            if not isinstance(value, float) or not isinstance(again, float):
                continue
            if abs(again - value) > RELATIVE_TOLERANCE * max(abs(value), 1e-12):
                problems.append(f"{section}.{key} {again:.5g} vs {value:.5g}")
        if "iwae_nll" in values:
            low = values["iwae_nll"] * (1 - RELATIVE_TOLERANCE)
            high = values["negative_elbo"] * (1 + RELATIVE_TOLERANCE)
            again = measured[section]["iwae_nll"]
            if not low <= again <= high:
                problems.append(
                    f"IWAE NLL (K={QUICK_IWAE}) {again:.2f} outside "
                    f"[{low:.2f}, {high:.2f}] (card's K=1000 value and ELBO)"
                )
    return problems

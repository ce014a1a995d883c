"""The duration histograms behind analytics percentiles: exact for equal durations,
within the bucket width (2 %) of the exact nearest-rank percentile otherwise."""

from __future__ import annotations

import math
import random

from opsknight.analytics.rollups import BUCKET_GROWTH, Histogram


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def test_equal_durations_give_exact_percentiles_and_the_mean_is_exact() -> None:
    histogram = Histogram()
    for seconds in (60, 60, 120, 600, 1200, 0.25):
        histogram.add(seconds)
    assert (histogram.percentile(0.5), histogram.percentile(0.9)) == (60, 1200)
    assert histogram.total / histogram.count == (60 + 60 + 120 + 600 + 1200 + 0.25) / 6
    assert Histogram().percentile(0.5) is None


def test_percentiles_stay_within_the_bucket_width_after_merging_days() -> None:
    rng = random.Random(7)
    for _ in range(50):
        values = [rng.lognormvariate(6, 2) for _ in range(rng.randint(1, 400))]
        merged = Histogram()
        for start in range(0, len(values), 37):  # one histogram per "day", merged
            day = Histogram()
            for value in values[start : start + 37]:
                day.add(value)
            merged.merge(day.encode())
        assert merged.count == len(values)
        for share in (0.5, 0.9):
            exact = nearest_rank(values, share)
            found = merged.percentile(share)
            assert found is not None
            assert exact / BUCKET_GROWTH <= found <= exact * BUCKET_GROWTH, (share, exact, found)

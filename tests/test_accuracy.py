"""Live accuracy against the simulator's ground truth (drivers/simulator.py knows each part's
true class): the Wilson interval from a 2 % labelled sample covers the window's true accuracy in
at least 95 % of windows; the label-free estimate follows the slow drift's fall within one point
at the end of every week; overrides count as truth; the calibration holds on the reference."""

from __future__ import annotations

import numpy as np
import pytest

from console.accuracy import Calibration, LiveAccuracy, estimate, scores, wilson
from drivers.simulator import CLASSES, LineSimulator

PER_DAY = 5000


def test_wilson_interval_known_values():
    rate = wilson(95, 100, corrected=False)
    assert (round(rate.lo, 4), round(rate.hi, 4)) == (0.8882, 0.9785)
    # the corrected bounds are where the continuity-corrected score test just rejects
    for k, n in ((95, 100), (81, 263), (3, 40)):
        rate = wilson(k, n)
        for bound in (rate.lo, rate.hi):
            gap = abs(k / n - bound) - 0.5 / n
            assert gap == pytest.approx(1.959964 * np.sqrt(bound * (1 - bound) / n), rel=1e-9)
        plain = wilson(k, n, corrected=False)
        assert rate.lo < plain.lo and plain.hi < rate.hi
    assert (
        wilson(0, 0).n == 0 and wilson(0, 10).lo == 0.0 and wilson(10, 10).hi == pytest.approx(1.0)
    )


@pytest.mark.parametrize("scenario", ["stable", "drift"])
def test_the_interval_covers_the_true_accuracy_in_95_percent_of_windows(scenario):
    sim = LineSimulator(scenario, seed=7, parts_per_day=PER_DAY)
    rng = np.random.default_rng(11)
    covered = windows = 0
    for _ in range(300):
        _, _, true, predicted, _ = sim.generate(5000)
        labelled = rng.random(len(true)) < 0.02
        names = np.array(CLASSES)
        rate = scores(names[predicted[labelled]], names[true[labelled]], CLASSES)["accuracy"]
        covered += rate.lo <= float((true == predicted).mean()) <= rate.hi
        windows += 1
    assert covered / windows >= 0.95, covered / windows


def reference(sim: LineSimulator, parts: int = 10_000) -> Calibration:
    _, _, true, predicted, conf = sim.generate(parts)
    return Calibration.fit(conf, true == predicted)


def test_the_calibration_is_checked_on_the_reference():
    sim = LineSimulator("stable", seed=5, parts_per_day=PER_DAY)
    calibration = reference(sim)
    _, _, true, predicted, conf = sim.generate(10_000)  # held out, same regime
    right = true == predicted
    g = calibration.posterior(conf)
    edges = np.linspace(0, 1, 11)
    idx = np.clip(np.searchsorted(edges, g, side="right") - 1, 0, 9)
    ece = sum(abs(right[idx == b].mean() - g[idx == b].mean()) * (idx == b).sum()
              for b in range(10) if (idx == b).any()) / len(g)  # fmt: skip
    assert ece < 0.02  # calibrated confidence is honest where it was fitted
    assert calibration.ece > ece  # the raw confidence is not
    assert abs(estimate(calibration, conf).adjusted - right.mean()) < 0.01


def test_the_label_free_estimate_follows_the_slow_drift_within_one_point_each_week():
    sim = LineSimulator("drift", seed=3, parts_per_day=PER_DAY)
    calibration = reference(sim)
    fell = []
    for week in range(1, 7):
        end = week * 7 * PER_DAY
        sim.generate(end - PER_DAY - sim.index)
        _, _, true, predicted, conf = sim.generate(PER_DAY)  # the last day of the week
        truth = float((true == predicted).mean())
        found = estimate(calibration, conf)
        print(f"week {week}: true {truth:.4f} estimate {found.adjusted:.4f} "
              f"(plain calibrated {found.calibrated:.4f})")  # fmt: skip
        assert abs(found.adjusted - truth) <= 0.01
        fell.append(truth)
    assert fell[0] - fell[-1] > 0.04  # the scenario really did cost accuracy


def test_live_window_counts_overrides_as_truth_by_class_and_batch():
    live = LiveAccuracy(("ok", "scratch"), window=100)
    for i in range(10):
        live.add(f"P{i}", "ok", 0.9, "B1" if i < 5 else "B2", "ok" if i < 8 else None)
    live.override("P9", "scratch")  # the model said ok; the operator says scratch
    live.override("P0", "scratch")  # an override wins over a label
    report = live.report()
    assert report["accuracy"]["n"] == 9 and report["accuracy"]["k"] == 7
    assert report["per_class"]["scratch"]["recall"]["n"] == 2
    assert report["per_class"]["scratch"]["recall"]["k"] == 0
    assert report["per_batch"]["B1"]["k"] == 4 and report["per_batch"]["B2"]["n"] == 4
    assert "estimate" not in report
    sim = LineSimulator("stable", seed=1)
    live.calibration = reference(sim, 2000)
    report = live.report()
    assert "adjusted" in report["estimate"] and report["gap"] is not None


def test_overrides_of_a_review_sample_give_an_interval_that_covers_the_truth():
    """The console's own path: a reviewer checks a random 2 % of parts; a wrong part is
    overridden (the override is its truth), a right one confirmed as its `label`. The live
    window's Wilson interval covers the window's true accuracy in >= 95 % of windows."""
    sim = LineSimulator("drift", seed=9, parts_per_day=PER_DAY)
    rng = np.random.default_rng(13)
    names = np.array(CLASSES)
    live = LiveAccuracy(CLASSES, window=5000)
    covered = windows = overridden = 0
    for w in range(200):
        _, _, true, predicted, conf = sim.generate(5000)
        reviewed = rng.random(len(true)) < 0.02
        for i in range(len(true)):
            part = f"W{w}P{i}"
            right = true[i] == predicted[i]
            label = str(names[true[i]]) if reviewed[i] and right else None
            live.add(part, str(names[predicted[i]]), float(conf[i]), f"B{w}", label)
            if reviewed[i] and not right:
                live.override(part, str(names[true[i]]))
                overridden += 1
        rate = live.report()["accuracy"]
        covered += rate["lo"] <= float((true == predicted).mean()) <= rate["hi"]
        windows += 1
    print(f"covered {covered}/{windows} windows; {overridden} overrides")
    assert overridden > 500  # the corrections did come as overrides
    assert covered / windows >= 0.95, covered / windows

"""What the line needs from the detectors (issue: catch a slow drift within days, no false
alarms): the simulator's scenarios at 5,000 parts a day, through the engine as `analyze` runs it."""

from collections import Counter

import pytest

from bench.detection_study import run
from drivers.simulator import LineSimulator

INPUTS = set(LineSimulator("stable").feature_names)
SLOW_DRIFT = ("mean_shift", "ramp")  # the two slow-drift detectors


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_slow_drift_against_a_validation_reference_alarms_within_2_6_days(seed):
    # A week of validated production is the reference; the drift begins half a day in. Bound
    # 2.6 days (2.5 before issue 12's third pass, which allowed for the shift effects a
    # reference of 21 shifts cannot rule out and needed 2.8; now only the reference's bias is
    # at that bound, the live shifts' term at its estimate: seeds 1–5 take 1.54–2.50).
    result = run("drift", days=4, seed=seed, onset_day=0.5, reference_days=7)
    assert all(e.seq >= result.onset_index for e in result.raised), "alarm before the drift began"
    assert result.delay_days(detectors=SLOW_DRIFT, sources=("brightness", "focus")) <= 2.6


def test_slow_drift_against_the_first_10000_parts_alarms_in_about_two_days():
    # Two days of reference carry their own sampling error into every comparison, so the delay
    # varies more from run to run: the median must still be within 2.9 days, none beyond 3.2
    # (2.5 / 3.0 before the false-alarm budget was shared among an input's detectors, then 3.1;
    # issue 12, third pass: the statistics allow for the shift effects six reference shifts
    # cannot rule out — median 2.84, worst 3.20 — and the family's stable lines fell silent;
    # with the live shifts' term at its estimate, median 2.84, worst 3.14).
    delays = []
    for seed in range(1, 8):
        result = run("drift", days=6.5, seed=seed)  # onset day 3
        assert all(e.seq >= result.onset_index for e in result.raised), (
            "alarm before the drift began"
        )
        delays.append(result.delay_days(detectors=SLOW_DRIFT, sources=("brightness", "focus")))
    assert None not in delays
    assert sorted(delays)[len(delays) // 2] <= 2.9
    assert max(delays) <= 3.2


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "reference_days"), [(41, 0.0), (42, 7.0)])
def test_sixty_stable_days_raise_no_alarm(seed, reference_days):
    result = run("stable", days=60, seed=seed, reference_days=reference_days)
    assert result.records >= 300_000
    assert [e.alarm for e in result.raised] == []


def test_a_sudden_two_sd_jump_alarms_within_200_parts():
    result = run("jump", days=4, seed=8)
    delay = result.delay_parts(detectors=("jump",), sources=("focus",))
    assert delay is not None and 0 <= delay <= 200


def test_a_slow_drift_is_not_mistaken_for_a_jump_even_when_large():
    result = run("drift", days=40, seed=6)  # by day 40 the drift is about 0.9 sd
    assert result.first(detectors=("mean_shift",)) is not None
    assert result.first(detectors=("jump",)) is None, [e.alarm for e in result.raised]


def test_a_frozen_sensor_raises_a_data_quality_alarm_within_an_hour():
    result = run("frozen", days=4, seed=9)
    delay = result.delay_parts(detectors=("stuck",), sources=("temperature",))
    assert delay is not None
    assert delay / 5000 * 24 <= 1.0  # hours of production
    assert result.first(detectors=("stuck",)).priority in ("high", "urgent")


def test_one_percent_malformed_lines_are_counted_and_change_nothing_else():
    clean = run("drift", days=5, seed=5)
    noisy = run("drift+noisy", days=5, seed=5)
    assert noisy.records == clean.records
    feature_alarms = [
        (e.alarm, e.seq) for e in noisy.raised if e.source in INPUTS | {"conf", "class"}
    ]
    assert feature_alarms == [(e.alarm, e.seq) for e in clean.raised]
    assert noisy.first(detectors=("rejected",)) is not None


def test_every_kind_of_malformed_line_is_counted_by_its_reason():
    from console.config import default_config
    from console.engine import Engine

    simulator = LineSimulator("noisy", seed=12)
    engine = Engine(default_config(), reference_features=simulator.feature_names)
    for chunk in simulator.chunks(30000, 5000):
        engine.feed_lines(chunk)
    inserted = simulator._malformed.inserted
    assert all(count > 0 for count in inserted.values())
    assert sum(engine.rejected.values()) == sum(inserted.values())
    assert engine.accepted == 30000
    reasons = Counter(engine.rejected)
    assert {
        "not_json",
        "non_finite",
        "bad_type",
        "missing_field",
        "bad_conf",
        "bad_timestamp",
        "too_long",
        "not_utf8",
        "not_object",
        "bad_feature_name",
    } <= set(reasons)


def test_an_input_that_stops_being_measured_raises_a_missing_alarm_within_an_hour():
    import json

    from console.config import default_config
    from console.engine import Engine

    simulator = LineSimulator("stable", seed=13)
    engine = Engine(default_config(), reference_features=simulator.feature_names)
    raised = []
    for chunk in simulator.chunks(15000, 5000):
        raised += engine.feed_lines(chunk)
    lines = simulator.lines(2000)
    for i, line in enumerate(lines):
        record = json.loads(line)
        record["features"]["focus"] = None
        lines[i] = json.dumps(record).encode()
    for start in range(0, 2000, 100):
        raised += engine.feed_lines(lines[start : start + 100])
    missing = [e for e in raised if e.alarm == "missing:focus" and e.event == "alarm_raised"]
    assert missing and missing[0].seq - 15000 <= 5000 / 24  # within an hour of production
    # The missing-rate test against the reference's rate may also see it: the same input.
    assert all(
        e.alarm in ("missing:focus", "missing_rate:focus")
        for e in raised
        if e.event == "alarm_raised"
    )

"""The false-alarm budget, spent once per input over all its detectors.

`detection.false_alarms_per_year` is the number of false alarms a stable input may raise in a
year, ALL its detectors together (config.py says "family-wise"). `share` splits it: most goes to
the slow-drift ramp, the detector that must work near the statistical limit; the others, there
for other kinds of change, get small shares (a level rises only with the log of its budget, so a
tenth of it costs them little). Every detector's level is solved for its share over all its
looks and windows (`console/drift.py`, `console/detectors/ramp.py`).

The reference's own sampling error is drawn once, when the reference is taken, and then biases
every look the same way. For the mean statistics (ramp, mean shift) counting it as fresh noise
at every look is on the safe side: a fixed part makes a statistic wander less, so it crosses a
level less often. For KS and PSI the levels add the window's and the reference's distances
(`console/drift.py`). What a short reference cannot show at all, shift-to-shift effects, is
learned live (`console/shift_effects.py`). Pure functions.
"""

from __future__ import annotations

# Shares of an input's budget per detector (they sum to 1).
SHARES: dict[str, float] = {
    "ramp": 0.7,
    "mean_shift": 0.08,
    "missing_rate": 0.08,
    "ks": 0.03,
    "psi": 0.03,
    "jump": 0.03,
    "missing": 0.02,
    "out_of_range": 0.015,
    "stuck": 0.015,
}


def share(budget: float, detector: str) -> float:
    """The part of an input's yearly budget that `detector` may spend."""
    return budget * SHARES[detector]

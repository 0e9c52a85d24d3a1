"""`main.py bench` runs end to end on a cheap subset (figures are never asserted in tests)."""

import pytest

from bench.suite import run_benchmarks


@pytest.mark.slow
def test_bench_quick_subset_returns_zero_and_prints_its_headings(capsys):
    assert run_benchmarks(quick=True, only="drift,store") == 0
    out = capsys.readouterr().out
    assert out.startswith("Linewatch benchmarks (--quick)")
    assert "numpy" in out and "cores" in out
    assert "== drift:" in out and "== store:" in out
    assert "max |KS engine - KS scipy|" in out
    assert "records/s (median)" in out
    assert "== engine:" not in out


def test_bench_rejects_an_unknown_name(capsys):
    assert run_benchmarks(quick=True, only="nonsense") == 2
    assert "unknown benchmark 'nonsense'" in capsys.readouterr().err

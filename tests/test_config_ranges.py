"""Every value that used to crash the console or be accepted silently is a ConfigError that
names the key and the fix, with a message that matches the check (issue 8)."""

from __future__ import annotations

import pytest

from console.config import ConfigError, load_config
from drivers.simulator import Scenario

CRASHES = [
    ('[station]\nfeatures = ["bright ness"]', "station.features[1]", "bright_ness"),
    ("[detection]\ndrift_windows_hours = []", "detection.drift_windows_hours", "at least one"),
    ("[detection]\ndrift_windows_hours = [0.0]", "detection.drift_windows_hours[1]", "0.25"),
    ("[detection]\njump_baseline_parts = 0", "detection.jump_baseline_parts", "1000"),
    ("[window]\nparts = 1000000000", "window.parts", "1,000,000"),
    ("[people]\nsla_minutes = [1.0]", "people.sla_minutes", "[1440.0, 240.0, 60.0, 15.0]"),
]
SILENT = [
    ("[alarms]\ndeadband = 5", "alarms.deadband", "0.2"),
    ("[alarms]\ndeadband = -1", "alarms.deadband", "0.2"),
    ("[alarms]\non_delay_parts = -5", "alarms.on_delay_parts", "on_delay_parts = 0"),
    ("[alarms]\noff_delay_parts = -5", "alarms.off_delay_parts", "off_delay_parts = 500"),
    ("[detection]\nstale_seconds = -1", "detection.stale_seconds", "stale_seconds = 60"),
    ("[detection]\nstale_seconds = inf", "detection.stale_seconds", "stale_seconds = 60"),
    ("[detection]\nrejected_fraction = -0.1", "detection.rejected_fraction", "0.005"),
    ("[detection]\nmissing_fraction = 2", "detection.missing_fraction", "0.05"),
    ("[detection]\njump_sd = 0", "detection.jump_sd", "jump_sd = 2.0"),
    ("[detection]\nstuck_parts = -1", "detection.stuck_parts", "50"),
    ("[window]\nparts = 100000000", "window.parts", "10000"),
    ("[detection]\ndrift_windows_hours = [-1.0]", "detection.drift_windows_hours[1]", "24.0"),
]
MORE = [
    ("[detection]\nfuture_margin_seconds = 0", "detection.future_margin_seconds", "300"),
    ("[detection]\ndrift_windows_hours = [200.0]", "detection.drift_windows_hours[1]", "96"),
    ("[people]\nsla_minutes = [60.0, 30.0, 0.0, 5.0]", "people.sla_minutes[3]", "60.0"),
    ("[[source]]\nkind = 'tcp'\nurl = 'tcp://127.0.0.1:1'\nmax_clients = 0", "source[1].max_clients", "64"),
    ("[[source]]\nkind = 'tcp'\nurl = 'tcp://127.0.0.1:1'\nidle_seconds = 0", "source[1].idle_seconds", "300"),
    ("[[source]]\nkind = 'serial'\nurl = 'loop://'\nbaudrate = 0", "source[1].baudrate", "115200"),
    ("[[source]]\nkind = 'serial'\nurl = 'loop://'\nstopbits = 3", "source[1].stopbits", "stopbits = 1"),
    ("[[source]]\nkind = 'serial'\nurl = 'loop://'\nparity = 'X'", "source[1].parity", '"M" or "S"'),
    ("[reference]\nsize = 50", "reference.size", "at least 100"),
    ("[station]\nclasses = ['']", "station.classes[1]", "scratch"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "fix"), CRASHES + SILENT + MORE)
def test_a_value_out_of_range_is_refused_naming_key_and_fix(tmp_path, text, key, fix):
    path = tmp_path / "station.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key
    assert fix in caught.value.fix


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[reference]\nsize = 99", "at least 100"),
        ("[window]\nparts = 99", "at least 100"),
        ("[detection]\njump_sd = 0", "greater than 0"),
    ],
)
def test_the_message_states_the_check_it_failed(tmp_path, text, says):
    path = tmp_path / "station.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert says in caught.value.problem


def test_the_smallest_accepted_values_load(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(
        "[reference]\nsize = 100\n[window]\nparts = 100\nbatch = 100\n"
        "[alarms]\ndeadband = 0.0\non_delay_parts = 0\n[detection]\nstuck_parts = 0\n"
        '[[source]]\nkind = "serial"\nurl = "loop://"\nparity = "M"\n'
    )
    assert load_config(path).window.parts == 100


@pytest.mark.parametrize("name", ["drift+jump", "jump+frozen", "demo+drift"])
def test_two_faults_in_one_scenario_are_refused(name):
    with pytest.raises(ValueError, match="one fault at a time"):
        Scenario.named(name)


def test_a_fault_with_noise_is_still_one_scenario():
    assert Scenario.named("drift+noisy").malformed > 0

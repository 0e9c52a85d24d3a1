"""Station config: TOML to frozen dataclasses; errors name the key and the fix."""

import pytest

from console.config import ConfigError, default_config, demo_config, load_config


def write(tmp_path, text):
    path = tmp_path / "station.toml"
    path.write_text(text)
    return path


def test_the_stable_keys_of_wire_md_load(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
[station]
id = "line1-cam1"
[[source]]
kind = "serial"
url = "loop://"
baudrate = 115200
format = "jsonl"
[[source]]
kind = "tcp"
url = "tcp://127.0.0.1:9100"
[store]
path = "linewatch.db"
[reference]
file = "reference.jsonl"
size = 10000
[sync]
url = "postgresql://linewatch@db.plant.local/linewatch"
""",
        )
    )
    assert config.station.id == "line1-cam1"
    assert [s.kind for s in config.source] == ["serial", "tcp"]
    assert config.store.path == str(tmp_path / "linewatch.db")  # relative to the file
    assert config.reference.size == 10000


@pytest.mark.parametrize(
    ("text", "key", "fix"),
    [
        ("[station]\nidd = 'x'", "station.idd", "use one of"),
        (
            "[[source]]\nkind = 'serial'\nurl = 'loop://'\nbaudrate = 'fast'",
            "source[1].baudrate",
            "baudrate = 100",
        ),
        ("[[source]]\nkind = 'usb'", "source[1].kind", "serial"),
        ("[[source]]\nkind = 'serial'", "source[1].url", "port"),
        ("[reference]\nsize = 5", "reference.size", "at least"),
        ("[console]\nfullscreen = 'yes'", "console.fullscreen", "fullscreen = true"),
        ("[console]\ntimezone = 'Mars/Olympus'", "console.timezone", "IANA"),
        ("[console]\nkiosk = true", "console.kiosk", "fullscreen"),
        ("[window\nparts = 5", "", "TOML"),
    ],
)
def test_a_bad_key_names_itself_and_the_fix(tmp_path, text, key, fix):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert key in str(caught.value)
    assert fix in str(caught.value)


def test_nothing_is_needed_to_start():
    assert default_config().reference.size == 10000
    demo = demo_config()
    assert demo.source[0].kind == "simulator"
    assert demo.station.features


def test_the_demo_line_names_the_simulator_s_inputs_and_classes():
    from console.config import DEMO_CLASSES, DEMO_FEATURES
    from drivers.simulator import CLASSES, FEATURES

    assert tuple(f.name for f in FEATURES) == DEMO_FEATURES
    assert DEMO_CLASSES == CLASSES

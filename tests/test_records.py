"""Record parsing (WIRE.md §1): literal good and bad lines, and random bytes."""

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from console.records import REJECT_REASONS, RecordParser, learn_features, parse_timestamp

GOOD = (
    b'{"ts":"2026-03-02T06:00:03.651Z","station":"line1-cam1","part":"P0000000","batch":"B000",'
    b'"model":"defnet-3.2","class":"scratch","conf":0.9715,'
    b'"features":{"brightness":0.58791,"contrast":0.27437,"focus":117.74543}}'
)
FEATURES = ("brightness", "contrast", "focus")


def with_(**changes) -> bytes:
    record = json.loads(GOOD)
    for key, value in changes.items():
        if value is ...:
            del record[key]
        else:
            record[key] = value
    return json.dumps(record).encode()


def test_a_good_line_becomes_one_row_with_exact_values():
    batch, rejected = RecordParser(FEATURES).parse([GOOD])
    assert rejected == []
    assert batch.features.tolist() == [[0.58791, 0.27437, 117.74543]]
    assert batch.part == ("P0000000",) and batch.conf.tolist() == [0.9715]
    assert batch.ts[0] == parse_timestamp("2026-03-02T06:00:03.651Z")
    assert batch.ts_text == ("2026-03-02T06:00:03.651Z",)


def test_crlf_offsets_null_and_absent_features():
    line = with_(ts="2026-03-02T07:00:03.651+01:00", features={"brightness": None, "focus": 1})
    batch, rejected = RecordParser(FEATURES).parse([line + b"\r\n"])
    assert rejected == []
    assert np.isnan(batch.features[0, 0]) and np.isnan(batch.features[0, 1])
    assert batch.features[0, 2] == 1.0
    assert batch.ts[0] == parse_timestamp("2026-03-02T06:00:03.651Z")


BAD = {
    b'{"ts":"2026-03-02T06:00:03Z","part":"x"': "not_json",
    b"[1,2]": "not_object",
    b"\xff\xfe{}": "not_utf8",
    with_(conf=...): "missing_field",
    with_(features=...): "missing_field",
    with_(conf=1.5): "bad_conf",
    with_(conf=-0.1): "bad_conf",
    with_(conf="0.5"): "bad_type",
    with_(conf=True): "bad_type",
    with_(part=""): "bad_type",
    with_(part="p" * 65): "bad_type",
    with_(features={"brightness": "0.5"}): "bad_type",
    with_(features={"brightness": [1]}): "bad_type",
    with_(features=[1, 2]): "bad_type",
    with_(ts="02/03/2026 06:00"): "bad_timestamp",
    with_(ts="2026-03-02T06:00:03"): "bad_timestamp",
    with_(ts=12): "bad_timestamp",
    with_(features={"bad name": 1.0}): "bad_feature_name",
    with_(features={f"f{i}": 1.0 for i in range(257)}): "too_many_features",
    GOOD.replace(b"0.58791", b"NaN"): "non_finite",
    GOOD.replace(b"0.58791", b"-Infinity"): "non_finite",
    GOOD.replace(b"0.58791", b"1e999"): "non_finite",
    GOOD[:-1] + b',"pad":"' + b"x" * 70000 + b'"}': "too_long",
}


def test_every_bad_line_is_rejected_verbatim_with_its_reason():
    parser = RecordParser(FEATURES)
    for line, reason in BAD.items():
        batch, rejected = parser.parse([line])
        assert len(batch) == 0, line[:80]
        assert [r.reason for r in rejected] == [reason], line[:80]
        assert rejected[0].raw == line
        assert reason in REJECT_REASONS


def test_unknown_feature_is_rejected_only_when_the_list_is_fixed():
    line = with_(features={"brightness": 1.0, "glare": 2.0})
    assert [r.reason for r in RecordParser(FEATURES, fixed=True).parse([line])[1]] == [
        "unknown_feature"
    ]
    batch, rejected = RecordParser(FEATURES).parse([line])
    assert rejected == [] and batch.features[0, 0] == 1.0


def test_bad_lines_do_not_disturb_the_good_ones_around_them():
    lines = [GOOD, b"garbage", with_(part="P2"), b"", with_(conf=7), with_(part="P3")]
    batch, rejected = RecordParser(FEATURES).parse(lines)
    assert batch.part == ("P0000000", "P2", "P3")
    assert sorted(r.reason for r in rejected) == ["bad_conf", "not_json"]


def test_class_codes_follow_first_appearance_after_configured_classes():
    parser = RecordParser(FEATURES, classes=("ok", "scratch"))
    batch, _ = parser.parse([with_(**{"class": "dent"}), GOOD, with_(**{"class": "ok"})])
    assert parser.classes.names == ["ok", "scratch", "dent"]
    assert batch.class_codes.tolist() == [2, 1, 0]


def test_features_are_learnt_from_the_first_valid_record():
    assert learn_features([b"junk", b"[]", GOOD]) == FEATURES


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.binary(max_size=200), st.sampled_from(list(BAD) + [GOOD])), max_size=30)
)
def test_any_bytes_are_accounted_for_and_never_raise(lines):
    lines = [line.replace(b"\n", b" ") for line in lines]
    batch, rejected = RecordParser(FEATURES).parse(lines)
    blank = sum(1 for line in lines if not line.strip() or _blank_text(line))
    assert len(batch) + len(rejected) + blank == len(lines)
    assert batch.features.shape == (len(batch), len(FEATURES))
    # every good line is accepted, every known bad line rejected verbatim with its own reason
    assert batch.part.count("P0000000") == sum(line == GOOD for line in lines)
    known_bad = [(line, BAD[line]) for line in lines if line in BAD]
    judged = [(r.raw, r.reason) for r in rejected if r.raw in BAD]
    assert judged == known_bad


def good_record(rng_values: list[float], part: str, cls: str, conf: float) -> bytes:
    return with_(
        part=part,
        features=dict(zip(FEATURES, rng_values, strict=True)),
        conf=conf,
        **{"class": cls},
    )


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
records = st.builds(
    good_record,
    st.lists(st.one_of(finite, st.none()), min_size=3, max_size=3),
    st.text("PQ0123456789", min_size=1, max_size=12),
    st.sampled_from(["ok", "scratch", "dent"]),
    st.floats(0.0, 1.0),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(records, st.sampled_from(list(BAD))), min_size=1, max_size=25))
def test_bulk_and_line_by_line_parsing_agree(lines):
    bulk_parser, single_parser = RecordParser(FEATURES), RecordParser(FEATURES)
    bulk = bulk_parser._parse_in_bulk(list(lines))
    if bulk is None:  # the bulk path declined: the chunk goes line by line anyway
        return
    # each path also returns the raw lines of the records it kept (for the stream-time check)
    (a, a_rejected, _), (b, b_rejected, _) = bulk, single_parser._parse_line_by_line(list(lines))
    assert a.part == b.part and a.ts_text == b.ts_text
    np.testing.assert_array_equal(a.features, b.features)  # NaN where missing, on both
    np.testing.assert_array_equal(a.conf, b.conf)
    np.testing.assert_array_equal(a.ts, b.ts)
    assert [bulk_parser.classes.names[c] for c in a.class_codes] == [
        single_parser.classes.names[c] for c in b.class_codes
    ]
    assert [(r.raw, r.reason) for r in a_rejected] == [(r.raw, r.reason) for r in b_rejected]


def test_the_bulk_path_takes_usual_lines_and_lines_it_can_judge():
    """So the agreement above is tested on real bulk results, not only on declined chunks."""
    usual = [GOOD, with_(features={"brightness": None, "focus": 2.0}), b'{"ts":']
    assert RecordParser(FEATURES)._parse_in_bulk(usual) is not None


def _blank_text(line: bytes) -> bool:
    try:
        return not line.decode("utf-8").strip()
    except UnicodeDecodeError:
        return False


def test_a_stream_of_ever_new_class_names_cannot_grow_memory_without_bound():
    parser = RecordParser(FEATURES)
    lines = [with_(**{"class": f"c{i}"}) for i in range(300)]
    batch, rejected = parser.parse(lines)
    assert len(batch) == 256 and {r.reason for r in rejected} == {"too_many_classes"}


def test_optional_fields_must_be_text():
    lines = [GOOD, with_(batch=7), with_(model=["x"]), with_(label=None)]
    batch, rejected = RecordParser(FEATURES).parse(lines)
    assert len(batch) == 2 and batch.label == (None, None)
    assert [r.reason for r in rejected] == ["bad_type", "bad_type"]
    assert rejected[0].raw == lines[1]

"""posestage.config.schema: the typed validation layer shared by scene files and live control."""

from __future__ import annotations

import pytest

from posestage.config.schema import Setting, Values, describe, parse_size, validate
from posestage.errors import PosestageError, SceneError

SCHEMA = (
    Setting("thickness", int, 3, "bone width", min=1, max=20),
    Setting("threshold", float, 0.3, "keypoint score", min=0.0, max=1.0),
    Setting("labels", bool, False, "labels on/off"),
    Setting("color_by", str, "id", "colour key", choices=("id", "slot")),
    Setting("name", str, None, "optional text"),
)
WHERE = "scenes/x.toml: plugins.skeleton"


def check_error(values, message, schema=SCHEMA, **kw):
    with pytest.raises(SceneError) as info:
        validate(values, schema, WHERE, **kw)
    assert str(info.value) == message
    assert "\n" not in str(info.value)
    assert isinstance(info.value, PosestageError)


def test_defaults_filled_in_declaration_order():
    got = validate({"labels": True, "thickness": 5}, SCHEMA, WHERE)
    assert isinstance(got, Values)
    assert list(got) == ["thickness", "threshold", "labels", "color_by", "name"]
    assert got == {"thickness": 5, "threshold": 0.3, "labels": True, "color_by": "id", "name": None}
    assert got.thickness == 5 and got.labels is True
    with pytest.raises(AttributeError):
        _ = got.nope


def test_int_is_accepted_as_float_and_becomes_float():
    got = validate({"threshold": 1}, SCHEMA, WHERE)
    assert got["threshold"] == 1.0 and isinstance(got["threshold"], float)


def test_unknown_key_names_path_valid_keys_and_close_match():
    check_error(
        {"thikness": 3},
        "scenes/x.toml: plugins.skeleton.thikness: unknown setting (did you mean 'thickness'?); "
        "valid: thickness, threshold, labels, color_by, name",
    )


def test_unknown_key_without_close_match():
    check_error(
        {"zzz": 1},
        "scenes/x.toml: plugins.skeleton.zzz: unknown setting; "
        "valid: thickness, threshold, labels, color_by, name",
    )


def test_wrong_type_says_expected_and_got():
    check_error(
        {"thickness": "3"},
        "scenes/x.toml: plugins.skeleton.thickness: expected a whole number from 1 to 20, "
        "got '3' (text)",
    )
    check_error(
        {"labels": 1},
        "scenes/x.toml: plugins.skeleton.labels: expected true or false, got 1 (a whole number)",
    )
    check_error(
        {"thickness": True},
        "scenes/x.toml: plugins.skeleton.thickness: expected a whole number from 1 to 20, "
        "got true (true/false)",
    )
    check_error(
        {"thickness": 2.5},
        "scenes/x.toml: plugins.skeleton.thickness: expected a whole number from 1 to 20, "
        "got 2.5 (a number)",
    )


def test_bad_choice_lists_choices():
    check_error(
        {"color_by": "sot"},
        "scenes/x.toml: plugins.skeleton.color_by: 'sot' is not a valid choice "
        "(did you mean 'slot'?); valid: 'id', 'slot'",
    )


def test_out_of_range():
    check_error(
        {"thickness": 0},
        "scenes/x.toml: plugins.skeleton.thickness: 0 is out of range; "
        "expected a whole number from 1 to 20",
    )
    check_error(
        {"threshold": 1.5},
        "scenes/x.toml: plugins.skeleton.threshold: 1.5 is out of range; "
        "expected a number from 0 to 1",
    )
    check_error(
        {"threshold": float("nan")},
        "scenes/x.toml: plugins.skeleton.threshold: expected a finite number, got nan",
    )


def test_not_a_table():
    check_error(
        [1, 2], "scenes/x.toml: plugins.skeleton: expected a table of settings, got [1, 2] (a list)"
    )


def test_live_update_partial_and_coerced():
    got = validate(
        {"thickness": "7", "labels": "on", "threshold": "0.5"},
        SCHEMA,
        WHERE,
        partial=True,
        coerce=True,
    )
    assert got == {"thickness": 7, "labels": True, "threshold": 0.5}
    got = validate({"labels": 0}, SCHEMA, WHERE, partial=True, coerce=True)
    assert got == {"labels": False}
    check_error(
        {"thickness": "seven"},
        "scenes/x.toml: plugins.skeleton.thickness: expected a whole number from 1 to 20, got 'seven' (text)",
        partial=True,
        coerce=True,
    )
    check_error(
        {"thickness": "99"},
        "scenes/x.toml: plugins.skeleton.thickness: 99 is out of range; expected a whole number from 1 to 20",
        partial=True,
        coerce=True,
    )


def test_list_of_tables_and_sub_table_give_full_key_paths():
    target = (
        Setting("host", str, "127.0.0.1", "address"),
        Setting("port", int, 9000, "UDP port", min=1, max=65535),
    )
    schema = (
        Setting("targets", list, [], "OSC targets", schema=target),
        Setting("ports", list, [], "ports", item=int),
        Setting(
            "midi", dict, {}, "MIDI options", schema=(Setting("channel", int, 1, min=1, max=16),)
        ),
    )
    got = validate(
        {"targets": [{"port": 9001}, {"host": "localhost", "port": 7000}], "midi": {"channel": 2}},
        schema,
        WHERE,
    )
    assert got["targets"] == [
        {"host": "127.0.0.1", "port": 9001},
        {"host": "localhost", "port": 7000},
    ]
    assert got["midi"] == {"channel": 2}
    assert got["ports"] == []
    check_error(
        {"targets": [{"port": 9001}, {"port": 0}]},
        "scenes/x.toml: plugins.skeleton.targets[1].port: 0 is out of range; "
        "expected a whole number from 1 to 65535",
        schema=schema,
    )
    check_error(
        {"targets": [{"prot": 1}]},
        "scenes/x.toml: plugins.skeleton.targets[0].prot: unknown setting (did you mean 'port'?); valid: host, port",
        schema=schema,
    )
    check_error(
        {"ports": [1, "2"]},
        "scenes/x.toml: plugins.skeleton.ports[1]: expected a whole number, got '2' (text)",
        schema=schema,
    )
    check_error(
        {"midi": {"channel": 17}},
        "scenes/x.toml: plugins.skeleton.midi.channel: 17 is out of range; expected a whole number from 1 to 16",
        schema=schema,
    )


def test_defaults_are_copies():
    schema = (Setting("items", list, [1], "a list"),)
    first = validate({}, schema, WHERE)
    first["items"].append(2)
    assert validate({}, schema, WHERE)["items"] == [1]


def test_parse_converter_and_size():
    assert parse_size("640x480") == (640, 480)
    assert parse_size([481, 641]) == (481, 641)
    schema = (Setting("res", str, None, "WxH", parse=parse_size),)
    assert validate({"res": "1280X720"}, schema, WHERE)["res"] == (1280, 720)
    check_error(
        {"res": "big"},
        "scenes/x.toml: plugins.skeleton.res: expected a size WxH like 640x480, width 1 to 7680 "
        "and height 1 to 4320, got 'big'",
        schema=schema,
    )
    check_error(
        {"res": "0x480"},
        "scenes/x.toml: plugins.skeleton.res: expected a size WxH like 640x480, width 1 to 7680 "
        "and height 1 to 4320, got '0x480'",
        schema=schema,
    )


def test_declaration_with_bad_default_or_type_is_refused():
    with pytest.raises(ValueError, match="setting 'size' has an invalid default"):
        Setting("size", int, 50, min=1, max=10)
    with pytest.raises(ValueError, match="not a valid choice"):
        Setting("mode", str, "x", choices=("a", "b"))
    with pytest.raises(TypeError, match="type must be one of"):
        Setting("when", complex, None)


def test_describe_lines():
    assert describe(SCHEMA) == [
        "thickness = 3  (a whole number from 1 to 20)  bone width",
        "threshold = 0.3  (a number from 0 to 1)  keypoint score",
        "labels = false  (true or false)  labels on/off",
        "color_by = 'id'  (one of 'id', 'slot')  colour key",
        "name = (not set)  (text)  optional text",
    ]


def test_validated_settings_validate_again_unchanged():
    """The host validates a scene's (already validated) settings again when it activates it:
    "not set" (None) stays valid for a setting whose default is None, also in a list of
    tables; a setting with a real default still refuses None."""
    item = [Setting("target", str, None), Setting("port", int, None, min=1)]
    schema = (*SCHEMA, Setting("targets", list, None, schema=item))
    once = validate({"targets": [{"port": 9}]}, schema, WHERE)
    assert once["name"] is None and once["targets"] == [{"target": None, "port": 9}]
    assert validate(once, schema, WHERE) == once
    check_error(
        {"thickness": None},
        f"{WHERE}.thickness: expected a whole number from 1 to 20, got None (NoneType)",
    )


def test_settings_naming_files_or_hosts_are_not_changed_live():
    """``live=False`` (a file, folder, host, address): refused by a live change, fine in a
    scene file; a list of tables holding one is not live either."""
    schema = (
        Setting("path", str, "take.jsonl", live=False),
        Setting("gain", float, 1.0),
        Setting("targets", list, None, schema=[Setting("target", str, None, live=False)]),
    )
    assert validate({"path": "/tmp/x"}, schema, WHERE)["path"] == "/tmp/x"
    assert validate({"gain": "0.5"}, schema, WHERE, partial=True, coerce=True, live=True) == {
        "gain": 0.5
    }
    for key, value in (("path", "/tmp/x"), ("targets", [{"target": "203.0.113.1:9000"}])):
        check_error(
            {key: value},
            f"{WHERE}.{key} cannot be changed live (it names a file, folder, host or address); "
            "change it in the scene file",
            schema,
            partial=True,
            live=True,
        )
    assert not schema[2].live
    assert describe(schema[:1])[0].endswith("(scene file only: not changed live)")


def test_text_has_a_sane_length():
    schema = (
        Setting("prefix", str, None),
        Setting("path", str, "", max_length=1024),
        Setting("names", list, [], item=str),
    )
    assert validate({"prefix": "/p" * 100}, schema, WHERE)["prefix"] == "/p" * 100  # 200
    check_error(
        {"prefix": "/p" * 30_000},
        f"{WHERE}.prefix: text of 60000 characters; at most 200",
        schema,
        partial=True,
        live=True,
    )
    assert len(validate({"path": "x" * 1024}, schema, WHERE)["path"]) == 1024
    check_error(
        {"path": "x" * 1025}, f"{WHERE}.path: text of 1025 characters; at most 1024", schema
    )
    check_error(
        {"names": ["a", "b" * 201]},
        f"{WHERE}.names[1]: text of 201 characters; at most 200",
        schema,
    )

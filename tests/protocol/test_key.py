"""dlcourse.protocol.key and records: the key file and check records, on in-memory values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlcourse.checks import MIME_TYPE
from dlcourse.grading.run.records import records_of
from dlcourse.protocol import values
from dlcourse.protocol.key import KeyFileError, read_key, write_key


def record(name, value, **extra):
    return {"name": name, "value": values.encode(value), "rtol": 1e-5, "atol": 0.0, **extra}


def test_a_written_key_reads_back_with_hints_and_files(tmp_path):
    path = tmp_path / "q.json"
    write_key(path, "q", {"item": {"checks": [
        record("a", np.arange(3.0), hint={"*": "wrong"}),
        {**record("b", 1.0), "file": "model.onnx"}]}})
    key = read_key(path)
    first, second = key.items["item"]
    assert np.array_equal(first.value, np.arange(3.0)) and first.hint == {"*": "wrong"}
    assert second.file == "model.onnx" and key.exported_files == {"model.onnx"}
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("change", [
    {"format": 2}, {"quiz": "../x"},
    {"items": {"item": {"checks": [{**record("a", 1.0), "file": "../../gradebook.db"}]}}},
    {"items": {"item": {"checks": [{**record("a", 1.0), "hint": ""}]}}},
])
def test_a_malformed_key_is_refused_naming_the_file(tmp_path, change):
    path = tmp_path / "q.json"
    document = {"format": 1, "quiz": "q", "items": {"item": {"checks": [record("a", 1.0)]}},
                **change}
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match=str(path)):
        read_key(path)


def test_a_missing_key_says_how_to_make_it(tmp_path):
    with pytest.raises(KeyFileError, match="dlcourse release q"):
        read_key(tmp_path / "q.json")


def display(raw):
    return {"output_type": "display_data", "data": {MIME_TYPE: raw, "text/plain": "x"}}


def test_records_are_read_only_from_display_outputs_and_parsed_strictly():
    cell = {"outputs": [
        display(record("ok", 2.0)),
        {"output_type": "stream", "text": json.dumps(record("forged", 1.0))},
        display({"name": "bad name!", "value": values.encode(1)}),
        display({**record("hinted", 1.0), "hint": 7}),
        display({"name": "exported", "file": "../outside.onnx", "evaluator": "e",
                 "rtol": 0, "atol": 0}),
    ]}
    parsed = records_of(cell)
    assert [r.name for r in parsed] == ["ok", "bad name!", "hinted", "exported"]
    assert parsed[0].problem is None and float(parsed[0].value) == 2.0
    assert "invalid name" in parsed[1].problem
    assert "malformed hint" in parsed[2].problem
    assert "outside the notebook's folder" in parsed[3].problem


def test_a_key_of_several_notebooks_keeps_each_notebooks_items_apart(tmp_path):
    path = tmp_path / "hw.json"
    write_key(path, "hw", {}, notebooks={"part1": {"same_id": {"checks": [record("a", 1.0)]}},
                                         "part2": {"same_id": {"checks": [record("b", 2.0)]}},
                                         "plain": {}})
    assert json.loads(path.read_text())["format"] == 2
    key = read_key(path, "part2")
    assert [check.name for check in key.items["same_id"]] == ["b"]
    assert [c.name for c in key.of_notebook("part1").items["same_id"]] == ["a"]
    assert key.of_notebook("plain").items == {}
    # stock nbgrader's kernel knows only the assignment: a name finds its check anywhere
    assert read_key(path).check_named("a").value == 1.0 and key.check_named("b").value == 2.0
    assert key.check_named("c") is None

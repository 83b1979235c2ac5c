"""dlcourse.variants: each student's own numbers, derived from the course's secret and the id."""

from __future__ import annotations

import sys

import pytest

from dlcourse import quiz, variants

SPEC = {"exponent": ["integer", 2, 9], "scale": ["uniform", 0.5, 4.0, 2],
        "target": ["choice", ["accuracy", "recall", "precision"]], "data_seed": ["seed"]}


def test_a_student_gets_the_same_numbers_every_time_and_within_the_declared_ranges():
    first = variants.draw(SPEC, quiz="q", student="alice", secret="s")
    assert first == variants.draw(SPEC, quiz="q", student="alice", secret="s")
    assert 2 <= first["exponent"] <= 9 and isinstance(first["exponent"], int)
    assert 0.5 <= first["scale"] <= 4.0 and round(first["scale"], 2) == first["scale"]
    assert first["target"] in SPEC["target"][1]
    assert 0 <= first["data_seed"] <= variants.SEED_LIMIT


def test_students_quizzes_and_secrets_each_change_the_numbers():
    ids = [f"student{i}" for i in range(30)]
    seeds = {variants.draw(SPEC, quiz="q", student=s, secret="s")["data_seed"] for s in ids}
    assert len(seeds) == len(ids)
    exponents = {variants.draw(SPEC, quiz="q", student=s, secret="s")["exponent"] for s in ids}
    assert len(exponents) >= 5  # 8 values, 30 students
    alice = variants.draw(SPEC, quiz="q", student="alice", secret="s")
    assert alice["data_seed"] != variants.draw(SPEC, quiz="r", student="alice",
                                               secret="s")["data_seed"]
    assert alice["data_seed"] != variants.draw(SPEC, quiz="q", student="alice",
                                               secret="t")["data_seed"]


def test_adding_a_parameter_leaves_the_others_as_they_were():
    before = variants.draw(SPEC, quiz="q", student="alice", secret="s")
    after = variants.draw({"added": ["seed"], **SPEC}, quiz="q", student="alice", secret="s")
    assert {name: after[name] for name in before} == before


@pytest.mark.parametrize("spec, named", [
    ({"n": ["integer", 5, 5]}, "'n'"),
    ({"n": ["integer", 1.5, 3]}, "'n'"),
    ({"x": ["uniform", 1, 2]}, "'x'"),
    ({"c": ["choice", ["only"]]}, "'c'"),
    ({"s": ["seed", 3]}, "'s'"),
    ({"t": ["gaussian", 0, 1]}, "'t'"),
    ({"not an identifier": ["seed"]}, "'not an identifier'"),
    (["seed"], "a dict"),
])
def test_a_bad_declaration_names_the_parameter(spec, named):
    with pytest.raises(variants.VariantError, match=named):
        variants.validate_spec(spec, "quiz_x")


def test_the_student_id_is_the_setting_then_the_hub_user_then_the_unix_user(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "hubuser")
    monkeypatch.setenv(variants.STUDENT_VARIABLE, "chosen")
    assert variants.student_id() == "chosen"
    monkeypatch.delenv(variants.STUDENT_VARIABLE)
    assert variants.student_id() == "hubuser"
    monkeypatch.delenv("JUPYTERHUB_USER")
    monkeypatch.setattr(variants.getpass, "getuser", lambda: "unixuser")
    assert variants.student_id() == "unixuser"


def test_begin_shows_and_returns_the_students_variant(monkeypatch, capsys):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # the guard goes afterwards
    monkeypatch.setenv(variants.STUDENT_VARIABLE, "alice")
    monkeypatch.setenv(variants.SECRET_VARIABLE, "s")
    mine = quiz.begin("q", variant=SPEC)
    assert dict(mine) == variants.draw(SPEC, quiz="q", student="alice", secret="s")
    shown = capsys.readouterr().out
    assert "student 'alice'" in shown and f"exponent = {mine['exponent']!r}" in shown
    with pytest.raises(KeyError, match="no parameter 'exponant'"):
        mine["exponant"]
    assert quiz.begin("q") is None


def test_the_declaration_is_read_from_the_set_up_cell_without_running_it():
    cells = ["%matplotlib inline\nfrom dlcourse.quiz import begin\n"
             f"variant = begin('q', dlcourse_modules=[], variant={SPEC!r})\nimport torch",
             "x = 1"]
    assert variants.spec_of(cells) == SPEC
    assert variants.spec_of(["from dlcourse.quiz import begin\nbegin('q')"]) is None
    with pytest.raises(variants.VariantError, match="literal"):
        variants.spec_of(["import dlcourse.quiz\ndlcourse.quiz.begin('q', variant=make())"])
    with pytest.raises(variants.VariantError, match="twice"):
        variants.spec_of([cells[0], cells[0]])

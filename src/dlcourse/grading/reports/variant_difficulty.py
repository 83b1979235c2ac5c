"""How hard each varied item was, by the range its student's parameter fell in.

In a quiz whose numbers differ by student (:mod:`dlcourse.variants`), fairness asks that
no student's numbers make an item harder than another's: an exponent that overflows a
float, a threshold no model reaches. Each student's parameters are derived again (from
the course's secret and the id the result is filed under, as the grader derived them);
for every parameter that has ranges (integers, floats, choices: not seeds) the students
are split into up to ``bins`` groups of neighbouring values, and each item's pass rate is
computed per group. A parameter is shown where that teaches something: some item's pass
rate differs by at least ``shown_from`` between two groups of at least ``min_group``
students each, and by more than chance would make it differ. In a class of fifty, four
groups of twelve differ by a quarter on some item by chance alone, so a gap counts only
where a chi-squared test of the item's passes and failures across the groups gives a
p-value under ``alpha`` divided by the number of (parameter, item) pairs looked at
(Bonferroni's correction: the report looks at every pair, so one of them would otherwise
stand out by chance in most classes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ... import variants


@dataclass
class ParameterDifficulty:
    parameter: str
    #: the groups' labels ("2–4", "'recall'"), in order
    groups: list[str]
    #: students per group
    sizes: list[int]
    #: item -> pass rate per group (None: no student of the group has the item)
    pass_rates: dict[str, list[float | None]] = field(default_factory=dict)
    #: item -> the chi-squared test's p-value for "the groups pass alike" (1.0 where
    #: fewer than two groups have the item, or every student passed, or none did)
    p_values: dict[str, float] = field(default_factory=dict)

    def widest_gap(self) -> float:
        gaps = [max(r for r in rates if r is not None) - min(r for r in rates if r is not None)
                for rates in self.pass_rates.values() if any(r is not None for r in rates)]
        return max(gaps, default=0.0)


def _groups(values: dict[str, object], kind: str, bins: int) -> list[tuple[str, list[str]]]:
    """Students grouped by their value: each option of a choice, else neighbouring values
    in up to ``bins`` groups of near-equal size (equal values never split)."""
    if kind == "choice":
        options = sorted({repr(v) for v in values.values()})
        return [(option, sorted(s for s, v in values.items() if repr(v) == option))
                for option in options]
    ordered = sorted(values, key=lambda s: (values[s], s))
    # each value goes to the quantile group its students' middle falls in
    by_group: dict[int, list[str]] = {}
    below = 0
    for value in sorted({values[s] for s in ordered}):
        members = [s for s in ordered if values[s] == value]
        middle = (below + len(members) / 2) / len(ordered)
        by_group.setdefault(min(bins - 1, int(middle * bins)), []).extend(members)
        below += len(members)
    groups = [by_group[index] for index in sorted(by_group)]
    return [(f"{values[g[0]]:g}–{values[g[-1]]:g}" if values[g[0]] != values[g[-1]]
             else f"{values[g[0]]:g}", g) for g in groups]


def _p_value(table: list[list[int]]) -> float:
    """Chi-squared test of homogeneity of a groups x (passed, not passed) table."""
    from scipy.stats import chi2_contingency

    table = [row for row in table if sum(row) > 0]
    if len(table) < 2 or any(sum(column) == 0 for column in zip(*table, strict=True)):
        return 1.0
    return float(chi2_contingency(table, correction=False).pvalue)


def difficulty(quiz: str, spec: dict, statuses: dict[str, dict[str, str]], *, bins: int = 4,
               min_group: int = 3, shown_from: float = 0.25, alpha: float = 0.05,
               secret: str | None = None) -> list[ParameterDifficulty]:
    """The parameters worth showing, each with every item's pass rate per group (pure:
    ``statuses`` maps each student to their items' statuses, by grade id)."""
    spec = variants.validate_spec(spec, quiz)
    drawn = {student: variants.draw(spec, quiz=quiz, student=student, secret=secret)
             for student in statuses}
    items = sorted({grade_id for of in statuses.values() for grade_id in of})
    looked_at = []
    for name, (kind, *_) in spec.items():
        if kind == "seed" or not drawn:
            continue
        groups = _groups({s: drawn[s][name] for s in drawn}, kind, bins)
        found = ParameterDifficulty(name, [label for label, _ in groups],
                                    [len(members) for _, members in groups])
        for grade_id in items:
            rates, table = [], []
            for _, members in groups:
                had = [statuses[s][grade_id] for s in members if grade_id in statuses[s]]
                passed = sum(status == "passed" for status in had)
                usable = had and len(members) >= min_group
                rates.append(passed / len(had) if usable else None)
                if usable:
                    table.append([passed, len(had) - passed])
            found.pass_rates[grade_id] = rates
            found.p_values[grade_id] = _p_value(table)
        looked_at.append(found)
    tests = max(1, sum(len(found.pass_rates) for found in looked_at))
    shown = []
    for found in looked_at:
        beyond_chance = [
            grade_id for grade_id, rates in found.pass_rates.items()
            if found.p_values[grade_id] < alpha / tests
            and (known := [r for r in rates if r is not None])
            and max(known) - min(known) >= shown_from]
        if len([size for size in found.sizes if size >= min_group]) >= 2 and beyond_chance:
            shown.append(found)
    return shown


def plot(found: ParameterDifficulty) -> object:
    """A figure: each item's pass rate per group of the parameter (items that differ only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3))
    for grade_id, rates in found.pass_rates.items():
        known = [r for r in rates if r is not None]
        if known and max(known) - min(known) > 0:
            axis.plot(range(len(rates)), [r if r is not None else float("nan") for r in rates],
                      marker="o", label=grade_id)
    axis.set_xticks(range(len(found.groups)),
                    [f"{g}\n({n} students)" for g, n in zip(found.groups, found.sizes,
                                                            strict=True)], fontsize=8)
    axis.set_ylim(-0.05, 1.05)
    axis.set_ylabel("pass rate")
    axis.set_xlabel(f"the student's {found.parameter}")
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axis.set_title(f"Pass rate by {found.parameter}")
    return figure

"""Rules: the file format, every mistake named."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceasewatch.analysis.rules import (
    DEFAULT_RULES_PATH,
    FireNearPostParams,
    Rule,
    RuleKind,
    Severity,
    load_rules,
    parse_rules,
)
from ceasewatch.errors import InvalidInput

# test_allegations.py imports its scene builders from here; they live in test_violations.py.


def test_defaults_cover_every_kind() -> None:
    rules = load_rules(None)
    assert {r.kind for r in rules} == set(RuleKind)
    assert len({r.id for r in rules}) == len(rules)
    assert DEFAULT_RULES_PATH.is_file()


def test_theater_rules_replace_defaults(tmp_path: Path) -> None:
    assert load_rules(tmp_path) == load_rules(None)
    (tmp_path / "rules.toml").write_text(
        '[[rule]]\nid = "near"\nkind = "fire_near_post"\nseverity = "low"\n'
        'distance_m = 500\nprovision = "Art. 4"\n'
    )
    (rule,) = load_rules(tmp_path)
    assert rule == Rule("near", Severity.LOW, FireNearPostParams(distance_m=500.0), 0.5, "Art. 4")


HEAD = '[[rule]]\nid = "x"\nseverity = "high"\n'


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        (HEAD + 'kind = "fire_everywhere"\n', "#1 (id 'x') kind", "fire_across_line"),
        (HEAD + 'kind = "fire_near_post"\ndistance_m = 5\nradius = 3\n', "radius", "unknown"),
        (HEAD + 'kind = "fire_near_post"\n', "#1 (id 'x') distance_m", "missing"),
        (
            HEAD + 'kind = "fire_across_line"\nmax_delay_s = "90"\nmax_range_m = 1\n',
            "max_delay_s",
            "number",
        ),
        (
            HEAD + 'kind = "fire_across_line"\nmax_delay_s = -1\nmax_range_m = 1\n',
            "max_delay_s",
            "greater than 0",
        ),
        (HEAD + 'kind = "overflight"\nno_fly = 1\n', "no_fly", "boolean"),
        (HEAD + 'kind = "weapon_in_zone"\nclasses = ["tank", "ufo"]\n', "classes[1]", "tank"),
        (HEAD + 'kind = "weapon_in_zone"\nzone_types = ["moat"]\n', "zone_types[0]", "withdrawal"),
        (HEAD + 'kind = "overflight"\nmin_p = 1.5\n', "min_p", "[0, 1]"),
        (HEAD + 'kind = "overflight"\nmin_p = true\n', "min_p", "[0, 1]"),
        (HEAD + 'kind = "overflight"\nprovision = 3\n', "provision", "string"),
        (
            '[[rule]]\nid = "x"\nseverity = "extreme"\nkind = "overflight"\n',
            "#1 (id 'x') severity",
            "critical",
        ),
        ('[[rule]]\nid = "Fire Line"\nseverity = "low"\nkind = "overflight"\n', "id", "a-z"),
        ('[[rule]]\nseverity = "low"\nkind = "overflight"\n', "#1 id", "a-z"),
        (
            HEAD + 'kind = "overflight"\n' + HEAD + 'kind = "overflight"\n',
            "#2 (id 'x') id",
            "rule #1",
        ),
        ("[[rule]\n", "rules.toml", "not valid TOML"),
        ('title = "x"\n', "rules.toml", "no [[rule]]"),
        ('title = "x"\nrule = []\n', "rules.toml title", "unknown"),
        ('rule = "x"\n', "rules.toml rule", "array of tables"),
    ],
)
def test_bad_rules_are_named(text: str, where: str, what: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_rules(text, "rules.toml")
    assert any(where in p.where and what in p.what for p in info.value.problems), [
        str(p) for p in info.value.problems
    ]


def test_every_problem_listed(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text(
        '[[rule]]\nid = "a"\nkind = "nope"\nseverity = "high"\n'
        '[[rule]]\nid = "b"\nkind = "fire_near_post"\nseverity = "high"\n'
        '[[rule]]\nid = "a"\nkind = "overflight"\nseverity = "bad"\n'
    )
    with pytest.raises(InvalidInput) as info:
        load_rules(tmp_path)
    wheres = sorted(p.where.split("[[rule]] ")[1] for p in info.value.problems)
    assert wheres == [
        "#1 (id 'a') kind",
        "#2 (id 'b') distance_m",
        "#3 (id 'a') id",
        "#3 (id 'a') severity",
    ]
    assert "rules.toml" in info.value.problems[0].where

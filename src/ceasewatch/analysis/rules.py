"""Rules: the provisions of a ceasefire as data, read from a theater's `rules.toml`.

A theater's `rules.toml` (else the shipped `default_rules.toml`) lists `[[rule]]`
tables. Every rule has `id` ([a-z0-9-]+, unique), `kind`, `severity` (low, medium, high,
critical), `min_p` (report only violations with p >= min_p, and p > 0; default 0.5), an
optional `provision` (the text it enforces, quoted in every description) and the
parameters of its kind. A theater's file replaces the defaults as a whole. Anything wrong (unknown
kind, unknown or missing parameter, wrong type or range, duplicate id) is refused with
every problem listed.

`ceasewatch.analysis.violations.apply_rules` checks records against the rules; its module
docstring says what each kind finds and the probability it reports.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.geo.features import ZoneType
from ceasewatch.records.kinds import DetectionClass

__all__ = [
    "DEFAULT_RULES_PATH",
    "FireAcrossLineParams",
    "FireNearPostParams",
    "MovementAcrossLineParams",
    "OverflightParams",
    "PresenceAfterHandoverParams",
    "Rule",
    "RuleKind",
    "RuleParams",
    "Severity",
    "WeaponInZoneParams",
    "load_rules",
    "parse_rules",
]

DEFAULT_RULES_PATH = Path(__file__).parent / "default_rules.toml"
_ID = re.compile(r"^[a-z0-9-]+$")
_COMMON = ("id", "kind", "severity", "min_p", "provision")


class RuleKind(StrEnum):
    FIRE_ACROSS_LINE = "fire_across_line"
    FIRE_NEAR_POST = "fire_near_post"
    WEAPON_IN_ZONE = "weapon_in_zone"
    PRESENCE_AFTER_HANDOVER = "presence_after_handover"
    MOVEMENT_ACROSS_LINE = "movement_across_line"
    OVERFLIGHT = "overflight"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


Seconds = Annotated[float, Strict(), Field(gt=0.0, allow_inf_nan=False)]
SecondsOrZero = Annotated[float, Strict(), Field(ge=0.0, allow_inf_nan=False)]
Metres = Annotated[float, Strict(), Field(gt=0.0, allow_inf_nan=False)]
Flag = Annotated[bool, Strict()]
EventKind = Literal[
    "explosion",
    "burst",
    "shot",
    "flare",
    "projectile",
    "movement",
    "aircraft",
    "drone",
    "other",
    "firing_position",
]
Classes = tuple[DetectionClass, ...]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ClassVar[RuleKind]


class FireAcrossLineParams(_Params):
    kind: ClassVar[RuleKind] = RuleKind.FIRE_ACROSS_LINE
    max_delay_s: Seconds = Field(description="longest shot-to-explosion delay, seconds")
    max_range_m: Metres = Field(description="longest shot-to-explosion distance, metres")


class FireNearPostParams(_Params):
    kind: ClassVar[RuleKind] = RuleKind.FIRE_NEAR_POST
    distance_m: Metres = Field(description="how near a post fire is a violation, metres")
    kinds: tuple[EventKind, ...] = ("burst", "explosion", "shot")


class WeaponInZoneParams(_Params):
    kind: ClassVar[RuleKind] = RuleKind.WEAPON_IN_ZONE
    classes: Classes | None = None
    zone_types: tuple[ZoneType, ...] = (ZoneType.WITHDRAWAL,)


class PresenceAfterHandoverParams(_Params):
    kind: ClassVar[RuleKind] = RuleKind.PRESENCE_AFTER_HANDOVER
    classes: Classes = (
        DetectionClass.APC,
        DetectionClass.ARTILLERY,
        DetectionClass.MLRS,
        DetectionClass.MORTAR,
        DetectionClass.PERSONNEL,
        DetectionClass.TANK,
        DetectionClass.TRUCK,
    )
    grace_s: SecondsOrZero = 0.0
    max_after_s: Seconds | None = None


class MovementAcrossLineParams(_Params):
    kind: ClassVar[RuleKind] = RuleKind.MOVEMENT_ACROSS_LINE
    max_gap_s: Seconds = Field(description="longest time between two movements, seconds")
    max_distance_m: Metres = Field(description="longest distance between them, metres")


class OverflightParams(_Params):
    kind: ClassVar[RuleKind] = RuleKind.OVERFLIGHT
    kinds: tuple[EventKind, ...] = ("aircraft", "drone")
    classes: Classes = (DetectionClass.AIRCRAFT, DetectionClass.DRONE)
    no_fly: Flag = True
    over_other_side: Flag = True


RuleParams = (
    FireAcrossLineParams
    | FireNearPostParams
    | WeaponInZoneParams
    | PresenceAfterHandoverParams
    | MovementAcrossLineParams
    | OverflightParams
)
_PARAMS: dict[RuleKind, type[_Params]] = {
    p.kind: p
    for p in (
        FireAcrossLineParams,
        FireNearPostParams,
        WeaponInZoneParams,
        PresenceAfterHandoverParams,
        MovementAcrossLineParams,
        OverflightParams,
    )
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One provision: what counts as a violation (its params' kind) and how severe it is."""

    id: str
    severity: Severity
    params: RuleParams
    min_p: float = 0.5
    provision: str = ""

    @property
    def kind(self) -> RuleKind:
        return self.params.kind


# --- reading ----------------------------------------------------------------------------


def load_rules(theater_dir: Path | None) -> list[Rule]:
    """The theater's `rules.toml` if it has one, else the shipped defaults.

    Raises:
        InvalidInput: the file cannot be read or has problems (all of them listed).
    """
    path = DEFAULT_RULES_PATH
    if theater_dir is not None and (theater_dir / "rules.toml").is_file():
        path = theater_dir / "rules.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"cannot read rules file {path}", [Problem(str(path), f"cannot read ({exc})")]
        ) from exc
    return parse_rules(text, str(path))


def parse_rules(text: str, source: str = "rules.toml") -> list[Rule]:
    """Parse the text of a rules file; `source` names it in problems.

    Raises:
        InvalidInput: with one Problem per thing wrong, e.g. where
            "rules.toml [[rule]] #3 (id 'x') max_delay_s".
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(
            f"{source} is not valid TOML", [Problem(source, f"not valid TOML: {exc}")]
        ) from exc
    problems: list[Problem] = []
    for key in sorted(set(data) - {"rule"}):
        problems.append(Problem(f"{source} {key}", "unknown table or key; list rules as [[rule]]"))
    raw_rules = data.get("rule")
    if raw_rules is None:
        problems.append(Problem(source, "has no [[rule]] tables (to check nothing: rule = [])"))
        raw_rules = []
    elif not isinstance(raw_rules, list):
        problems.append(Problem(f"{source} rule", "must be an array of tables: [[rule]]"))
        raw_rules = []
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_rules, start=1):
        rule, rule_problems = _parse_rule(source, i, raw, seen)
        problems += rule_problems
        if rule is not None:
            rules.append(rule)
    if problems:
        raise InvalidInput(f"{source} has {len(problems)} problem(s) in its rules", problems)
    return rules


def _parse_rule(
    source: str, index: int, raw: Any, seen: dict[str, int]
) -> tuple[Rule | None, list[Problem]]:
    label = f"{source} [[rule]] #{index}"
    if not isinstance(raw, dict):
        return None, [Problem(label, "must be a table")]
    rid = raw.get("id")
    if isinstance(rid, str):
        label += f" (id {rid!r})"
    problems: list[Problem] = []

    def bad(key: str, what: str) -> None:
        problems.append(Problem(f"{label} {key}", what))

    if not isinstance(rid, str) or not _ID.match(rid):
        bad("id", f"{_brief(rid)} must be a string of a-z, 0-9 and '-'")
    elif rid in seen:
        bad("id", f"{rid!r} is also the id of rule #{seen[rid]}; ids must be unique")
    else:
        seen[rid] = index
    kind = _choice(RuleKind, raw.get("kind"))
    if kind is None:
        known = ", ".join(k.value for k in RuleKind)
        bad("kind", f"{_brief(raw.get('kind'))} is not a rule kind; known kinds: {known}")
    severity = _choice(Severity, raw.get("severity"))
    if severity is None:
        known = ", ".join(s.value for s in Severity)
        bad("severity", f"{_brief(raw.get('severity'))} must be one of {known}")
    min_p = raw.get("min_p", 0.5)
    if isinstance(min_p, bool) or not isinstance(min_p, int | float) or not 0.0 <= min_p <= 1.0:
        bad("min_p", f"{_brief(min_p)} must be a number in [0, 1]")
    provision = raw.get("provision", "")
    if not isinstance(provision, str):
        bad("provision", f"{_brief(provision)} must be a string")
    params: _Params | None = None
    if kind is not None:
        model = _PARAMS[kind]
        try:
            params = model.model_validate({k: v for k, v in raw.items() if k not in _COMMON})
        except ValidationError as exc:
            for err in exc.errors():
                key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
                bad(key.lstrip("."), _explain(kind, model, err))
    if problems or params is None:
        return None, problems
    assert isinstance(rid, str) and severity is not None
    return Rule(rid, severity, cast("RuleParams", params), float(min_p), provision), []


def _explain(kind: RuleKind, model: type[_Params], err: Any) -> str:
    names = ", ".join(model.model_fields) or "none"
    if err["type"] == "extra_forbidden":
        return f"unknown parameter; {kind} takes: {names} (and {', '.join(_COMMON)})"
    if err["type"] == "missing":
        info = model.model_fields[str(err["loc"][0])]
        return f"missing; {kind} needs it ({info.description})"
    return f"{err['msg']}, got {_brief(err['input'])}"


_E = TypeVar("_E", bound=StrEnum)


def _choice(enum: type[_E], value: Any) -> _E | None:
    if not isinstance(value, str):
        return None
    try:
        return enum(value)
    except ValueError:
        return None


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

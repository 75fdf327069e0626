"""Small theaters built in code, one problem at a time.

`clean_features()` is a two-sided theater that passes every check: side-w west of the
46.5 E meridian, side-e east of it, the contact line on that meridian, and one district
of side-e that is handed over to side-w. Tests copy it, break one thing, and write it
with the `make_theater` fixture (theater.toml + geometry.geojson in tmp_path).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest

Json = dict[str, Any]

ORGS: tuple[Json, ...] = (
    {"id": "mon-a", "name": "Monitor A", "role": "monitor"},
    {"id": "mon-b", "name": "Monitor B", "role": "monitor"},
    {"id": "side-w", "name": "Western side", "role": "side"},
    {"id": "side-e", "name": "Eastern side", "role": "side"},
)
#: When the district of `clean_features` passes to side-w.
HANDOVER = "2026-11-15T00:00:00Z"


def box(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[list[float]]]:
    """Polygon coordinates of a lon/lat box, counter-clockwise and closed."""
    return [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]


def feature(kind: str, gtype: str, coordinates: Any, **props: Any) -> Json:
    return {
        "type": "Feature",
        "properties": {"kind": kind, **props},
        "geometry": {"type": gtype, "coordinates": coordinates},
    }


def clean_features() -> list[Json]:
    """A fresh copy of the clean two-sided theater's features (indices 0-6)."""
    return [
        feature("control_area", "Polygon", box(46.0, 39.5, 46.5, 40.0), id="area-w", side="side-w"),
        feature("control_area", "Polygon", box(46.5, 39.5, 47.0, 40.0), id="area-e", side="side-e"),
        feature("contact_line", "LineString", [[46.5, 39.5], [46.5, 40.0]], id="line-1"),
        feature(
            "zone",
            "Polygon",
            box(46.5, 39.7, 46.6, 39.8),
            id="district-1",
            zone="district",
            handover_to="side-w",
            handover_by=HANDOVER,
        ),
        feature("post", "Point", [46.3, 39.7], id="P-1", org="mon-a"),
        feature("post", "Point", [46.7, 39.6], id="P-2", org="mon-b"),
        feature("base", "Point", [46.2, 39.9], id="B-1", org="mon-a"),
    ]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_text(
    theater: Mapping[str, Any],
    orgs: Sequence[Mapping[str, Any]],
    tables: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """theater.toml text: [theater], [[orgs]] and any further plain tables."""
    lines = ["[theater]", *(f"{k} = {_toml_value(v)}" for k, v in theater.items())]
    for org in orgs:
        lines += ["", "[[orgs]]", *(f"{k} = {_toml_value(v)}" for k, v in org.items())]
    for name, table in (tables or {}).items():
        lines += ["", f"[{name}]", *(f"{k} = {_toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


class MakeTheater(Protocol):
    def __call__(
        self,
        features: Sequence[Json] | None = None,
        *,
        orgs: Sequence[Mapping[str, Any]] = ORGS,
        crs: str | None = None,
        tables: Mapping[str, Mapping[str, Any]] | None = None,
        name: str = "t",
    ) -> Path: ...


@pytest.fixture
def make_theater(tmp_path: Path) -> MakeTheater:
    """Write a theater directory under tmp_path and return it.

    features default to `clean_features()`; crs is left out unless given; `tables` adds
    e.g. {"check": {"contact_line_tolerance_m": 10}}. Each call writes a new directory.
    """

    def make(
        features: Sequence[Json] | None = None,
        *,
        orgs: Sequence[Mapping[str, Any]] = ORGS,
        crs: str | None = None,
        tables: Mapping[str, Mapping[str, Any]] | None = None,
        name: str = "t",
    ) -> Path:
        root = tmp_path / name
        root.mkdir()
        theater: Json = {"name": f"Test theater {name}", "geometry": "geometry.geojson"}
        if crs is not None:
            theater["crs"] = crs
        (root / "theater.toml").write_text(toml_text(theater, orgs, tables), encoding="utf-8")
        collection = {
            "type": "FeatureCollection",
            "features": clean_features() if features is None else list(features),
        }
        (root / "geometry.geojson").write_text(json.dumps(collection), encoding="utf-8")
        return root

    return make


WriteFiles = Callable[..., Path]


@pytest.fixture
def write_files(tmp_path: Path) -> WriteFiles:
    """Write a theater directory from raw texts (for garbage): write_files(name, **texts).

    Keyword names are file names with "." spelled "_": theater_toml="...".
    """

    def write(name: str, **texts: str | bytes) -> Path:
        root = tmp_path / name
        root.mkdir()
        for key, text in texts.items():
            target = root / key.replace("_", ".")
            if isinstance(text, bytes):
                target.write_bytes(text)
            else:
                target.write_text(text, encoding="utf-8")
        return root

    return write

"""The output writers: their hand-built JSON and CSV are exactly what json.dumps and
csv.writer would write, row by row and a column at a time."""

from __future__ import annotations

import csv
import io
import json
import math
import random
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.analysis import _output_text as text
from ceasewatch.analysis.model import Event, Violation
from ceasewatch.analysis.output import VIOLATION_COLUMNS, _event_feature, _point, _r, _violation_row

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e10, max_value=1e10),
    st.sampled_from([0.0, -0.0, 0.05, -0.05, 0.15, 0.25, 1e-4, 5e-5, 0.99995, 999999999.95]),
)
ids = st.one_of(st.from_regex(r"[A-Za-z0-9._:/-]{1,12}", fullmatch=True), st.text(max_size=8))
times = st.integers(0, 10**12).map(
    lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
)


@settings(max_examples=300, deadline=None)
@given(x=numbers, nd=st.sampled_from([1, 4, 6]))
def test_rounded_numbers_are_written_as_json_writes_them(x: float, nd: int) -> None:
    assert text.rn(x, nd) == json.dumps(_r(x, nd))
    if nd == 1:
        assert text.r1(x) == text.rn(x, 1)


def _tricky_numbers(n: int, seed: int) -> list[float]:
    """Values of every scale and sign, rounding ties (k/20, quarters), small and huge."""
    rng = random.Random(seed)
    special = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e-4, -1e-4, 5e-5, 0.05, -0.05, 1e9]
    out: list[float] = []
    for i in range(n):
        kind = i % 8
        if kind == 0:
            out.append(rng.uniform(-1e4, 1e4))
        elif kind == 1:
            out.append(rng.randint(-(10**7), 10**7) / 20)  # ties of one decimal
        elif kind == 2:
            out.append(rng.randint(-(10**9), 10**9) / 2 ** rng.randint(2, 30))  # binary ties
        elif kind == 3:
            out.append(rng.uniform(-180.0, 180.0))
        elif kind == 4:
            out.append(rng.random())
        elif kind == 5:
            out.append(math.ldexp(rng.uniform(-1.0, 1.0), rng.randint(-40, 40)))
        elif kind == 6:
            out.append(rng.randint(0, 10**5) / 2 * 1e-4)  # ties of four decimals
        else:
            out.append(rng.choice(special))
    return out


@pytest.mark.parametrize("nd", [1, 4, 6])
def test_a_column_is_written_as_each_number_is(nd: int) -> None:
    values = _tricky_numbers(100_000, nd)
    assert text._fixed_column(values, nd) == [text.rn(x, nd) for x in values]
    if nd == 4:
        assert text._probabilities(values) == [text.rn(x, 4) for x in values]


def test_a_time_column_is_isoformat_to_the_millisecond() -> None:
    rng = random.Random(1)
    start = datetime(1000, 1, 1, tzinfo=UTC)
    ts = [start + timedelta(microseconds=rng.randint(0, 10**17)) for _ in range(20_000)]
    assert text._clock(ts) == [t.isoformat(timespec="milliseconds")[:-6] for t in ts]


def _event(data: st.DataObject) -> Event:
    ee, en, nn = data.draw(st.tuples(numbers, numbers, numbers))
    sightings = data.draw(st.lists(ids, max_size=4))
    observers = data.draw(st.lists(ids, max_size=3))
    p_side = data.draw(
        st.dictionaries(ids, st.one_of(st.floats(0.0, 1.0), st.sampled_from([5e-5, 0.00015])),
                        max_size=3)
    )  # fmt: skip
    return Event(
        id=data.draw(ids),
        time=data.draw(times),
        kind=data.draw(st.sampled_from(["explosion", "shot", "firing_position", 'a "b"'])),
        count=data.draw(st.integers(1, 1000)),
        x_m=0.0,
        y_m=0.0,
        lon=data.draw(st.floats(-180, 180)),
        lat=data.draw(st.floats(-90, 90)),
        cov_m2=((ee, en), (en, nn)),
        crlb_m=data.draw(numbers),
        sightings=tuple(sightings),
        outliers=tuple(sightings[:1]),
        p_side=p_side,
        d_line_m=data.draw(st.one_of(st.none(), numbers)),
        observers=tuple(observers),
    )


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_event_line_is_the_json_of_the_feature(data: st.DataObject) -> None:
    e = _event(data)
    try:
        want = json.dumps(_event_feature(e), ensure_ascii=False, separators=(",", ":"))
    except ValueError:  # the ellipse of a covariance with NaN or inf may not exist
        return
    assert text.event_line(e) == want


def _outcome(fn: object, *args: object) -> object:
    try:
        return fn(*args)  # type: ignore[operator]
    except ValueError as exc:
        return type(exc)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), plain=st.booleans())
def test_event_lines_are_the_event_lines_of_each(data: st.DataObject, plain: bool) -> None:
    # Mostly plain ids (the fast path), or anything (the path row by row).
    n = data.draw(st.integers(0, 12))
    events = [_event(data) for _ in range(n)]
    if plain:
        events = [
            Event(**{**vars(e), "id": f"E-{i}", "kind": "shot", "sightings": ("S1", "S2"),
                     "outliers": (), "observers": ("OBS-1",),
                     "p_side": {f"side{k}": p for k, p in enumerate(e.p_side.values())}})
            for i, e in enumerate(events)
        ]  # fmt: skip
    want = [_outcome(text.event_line, e) for e in events]
    if ValueError in want:
        assert _outcome(text.event_lines, events) is ValueError
    else:
        assert text.event_lines(events) == want


def _violation_reference(violations: list[Violation]) -> tuple[str, str]:
    """What the writer wrote before it wrote violations a column at a time."""
    rows = [_violation_row(v) for v in violations]
    features = ",\n".join(
        json.dumps(_point(r["lon"], r["lat"], r), ensure_ascii=False, separators=(",", ":"))
        for r in rows
    )
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(
            [
                ";".join(r[c]) if isinstance(r[c], list) else ("" if r[c] is None else r[c])
                for c in VIOLATION_COLUMNS
            ]
        )
    return features, buf.getvalue()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_violation_texts_are_the_json_and_csv_of_each_row(data: st.DataObject) -> None:
    zone = st.sampled_from([UTC, timezone(timedelta(hours=3))])
    violations = [
        Violation(
            id=data.draw(ids),
            rule=data.draw(ids),
            kind="fire_across_line",
            side=data.draw(st.one_of(st.none(), ids)),
            p=data.draw(st.one_of(st.floats(0.0, 1.0), numbers)),
            severity=data.draw(st.sampled_from(["high", "médium"])),
            time=data.draw(times).astimezone(data.draw(zone)),
            lon=data.draw(numbers),
            lat=data.draw(st.floats(-90, 90)),
            description=data.draw(st.text(max_size=30)),
            event_ids=tuple(data.draw(st.lists(ids, max_size=3))),
            detection_ids=tuple(data.draw(st.lists(ids, max_size=2))),
        )
        for _ in range(data.draw(st.integers(0, 8)))
    ]
    assert text.violation_texts(violations) == _violation_reference(violations)


@pytest.mark.parametrize("nd", [1, 4, 6])
def test_decimals_in_numpy_are_the_percent_format(nd: int) -> None:
    """`_decimals` writes "%.{nd}f" (less trailing zeros with strip) wherever it says it
    does, and vouches for every value clear of a rounding tie below 1e9."""
    edges = [999999999.95, -999999999.95, 0.25, -0.25, 1e-300, -1e-300, 0.049999999999999996]
    values = [*_tricky_numbers(50_000, 10 + nd), *edges]
    a = np.array(values)
    for strip in (True, False):
        texts, ok = text._decimal_rows([b"<", (a, nd, strip), b">"], len(values))
        assert ok.mean() > 0.6
        for x, t, good in zip(values, texts, ok.tolist(), strict=True):
            if not good:
                assert not abs(x) < 1e9 or abs(x * 10**nd % 1.0 - 0.5) < 1e-6 * max(
                    1.0, abs(x * 10**nd)
                )
                continue
            want = f"%.{nd}f" % x
            if want.lstrip("-").strip("0.") == "":
                want = want.lstrip("-")  # -0.0...: written unsigned
            if strip:
                want = want.rstrip("0")
                want += "0" if want.endswith(".") else ""
            assert t == f"<{want}>", (x, t, want)


def test_shape_texts_are_r1_of_each_number() -> None:
    values = _tricky_numbers(7 * 20_000, 3)
    a = np.array(values).reshape(-1, 7)
    texts, ok = text._shape_texts(a)
    for row, t, good in zip(a.tolist(), texts, ok.tolist(), strict=True):
        if good:
            ee, en, nn, major, minor, orient, crlb = map(text.r1, row)
            assert t == (
                f'"cov_m2":[[{ee},{en}],[{en},{nn}]],"semi_major_m":{major},'
                f'"semi_minor_m":{minor},"orientation_deg":{orient},"crlb_m":{crlb}'
            )
        else:
            assert not all(abs(x) < 1e9 for x in row)

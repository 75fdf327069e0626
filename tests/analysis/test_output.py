"""The events.geojson writer: its hand-built JSON is exactly what json.dumps would write."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.analysis.model import Event
from ceasewatch.analysis.output import _event_feature, _event_line, _r, _rn

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e10, max_value=1e10),
    st.sampled_from([0.0, -0.0, 0.05, -0.05, 0.15, 0.25, 1e-4, 5e-5, 0.99995, 999999999.95]),
)
ids = st.one_of(st.from_regex(r"[A-Za-z0-9._:/-]{1,12}", fullmatch=True), st.text(max_size=8))


@settings(max_examples=300, deadline=None)
@given(x=numbers, nd=st.sampled_from([1, 4, 6]))
def test_rounded_numbers_are_written_as_json_writes_them(x: float, nd: int) -> None:
    assert _rn(x, nd) == json.dumps(_r(x, nd))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_event_line_is_the_json_of_the_feature(data: st.DataObject) -> None:
    ms = data.draw(st.integers(0, 10**12))
    ee, en, nn = data.draw(st.tuples(numbers, numbers, numbers))
    sightings = data.draw(st.lists(ids, max_size=4))
    observers = data.draw(st.lists(ids, max_size=3))
    p_side = data.draw(st.dictionaries(ids, st.floats(0.0, 1.0), max_size=3))
    e = Event(
        id=data.draw(ids),
        time=datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms),
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
    try:
        want = json.dumps(_event_feature(e), ensure_ascii=False, separators=(",", ":"))
    except ValueError:  # the ellipse of a covariance with NaN or inf may not exist
        return
    assert _event_line(e) == want

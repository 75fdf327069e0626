"""The text of the output files' rows, written directly and a column at a time.

`json.dumps` of a nested dict per event costs ten times what writing the text directly
does; the per-row functions here (`event_line`, the numbers' `rn`, `r1`) write exactly
what json.dumps writes. `event_lines` and `violation_texts` give the same text for many
rows at once: the numbers of a column are checked and prepared in numpy (only + - * /,
sqrt and comparisons), then every row is one %-format of a template (no Python call per
number); a row the fast path cannot vouch for (a number past 1e9, NaN, a string JSON
must escape, a time not in UTC) is written by the per-row functions instead.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from itertools import accumulate, chain, pairwise, repeat
from json.encoder import encode_basestring
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from ceasewatch.analysis.events import CHI2_2D_95, ellipse
from ceasewatch.analysis.model import Event, Violation
from ceasewatch.geo.geodesy import FloatArray

BoolArray = npt.NDArray[np.bool_]

__all__ = ["event_line", "event_lines", "r1", "rn", "time_text", "violation_texts"]


def time_text(t: datetime) -> str:
    """UTC to the millisecond, fixed width, so the text sorts as the times do."""
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _num(x: float) -> str:
    """A float as json.dumps writes it."""
    if x - x == 0.0:  # finite
        return float.__repr__(x)
    if math.isnan(x):
        return "NaN"
    return "Infinity" if x > 0 else "-Infinity"


_FIXED = {nd: f"%.{nd}f" for nd in range(1, 7)}


def rn(x: float, nd: int) -> str:
    """round(x, nd) (no "-0.0") as json.dumps writes it (1 <= nd <= 6).

    Between 1e-4 and 1e9 the correctly rounded fixed-point text, less trailing zeros, is
    that repr (at most 15 significant digits name one double, and repr writes the
    shortest text that does), at a third of the cost of round() and repr().
    """
    if 1e-4 <= abs(x) < 1e9:
        text = (_FIXED[nd] % x).rstrip("0")
        if text.endswith("."):
            text += "0"
        return "0.0" if text == "-0.0" else text
    v = round(x, nd)
    return "0.0" if v == 0 else _num(v)


def r1(x: float) -> str:
    """`rn(x, 1)`: with one decimal, the fixed-point text has no trailing zero to drop
    (but "-0.0")."""
    if 1e-4 <= abs(x) < 1e9:
        text = "%.1f" % x  # noqa: UP031 (the fastest of the formatting calls)
        return "0.0" if text == "-0.0" else text
    return rn(x, 1)


# Ids, kinds and org ids use only these characters, which JSON writes as they are; any
# other string goes through the json module.
_PLAIN = re.compile(r"[A-Za-z0-9._:/ -]*")


def _str(s: str) -> str:
    return f'"{s}"' if _PLAIN.fullmatch(s) else json.dumps(s, ensure_ascii=False)


def _strs(items: Sequence[str]) -> str:
    if not items:
        return "[]"
    if _PLAIN.fullmatch("".join(items)):
        return '["' + '","'.join(items) + '"]'
    return "[" + ",".join(map(_str, items)) + "]"


def _ms(t: datetime) -> str:
    """`time_text(t)`, from isoformat (several times faster than strftime)."""
    if t.tzinfo is not UTC:
        return time_text(t)
    return t.isoformat(timespec="milliseconds")[:-6] + "Z"


def event_line(e: Event) -> str:
    """One event as a GeoJSON feature: the text of json.dumps of `output._event_feature(e)`
    (compact)."""
    (cee, cen), (_, cnn) = e.cov_m2
    major, minor, orient = ellipse(cee, cen, cnn)
    ee, en, nn = r1(cee), r1(cen), r1(cnn)
    p_side = ",".join([f"{_str(k)}:{rn(v, 4)}" for k, v in sorted(e.p_side.items())])
    d_line = "null" if e.d_line_m is None else r1(e.d_line_m)
    return (
        '{"type":"Feature","geometry":{"type":"Point","coordinates":'
        f"[{rn(e.lon, 6)},{rn(e.lat, 6)}]}},"
        f'"properties":{{"id":{_str(e.id)},"time":"{_ms(e.time)}","kind":{_str(e.kind)},'
        f'"count":{e.count},"sightings":{_strs(e.sightings)},'
        f'"outliers":{_strs(e.outliers)},"craters":{_strs(e.craters)},'
        f'"cov_m2":[[{ee},{en}],[{en},{nn}]],"semi_major_m":{r1(major)},'
        f'"semi_minor_m":{r1(minor)},"orientation_deg":{r1(orient)},'
        f'"crlb_m":{r1(e.crlb_m)},"p_side":{{{p_side}}},"d_line_m":{d_line},'
        f'"observers":{_strs(e.observers)}}}}}'
    )


# --- a column at a time -------------------------------------------------------------------


def _fixed_column(values: list[float], nd: int) -> list[str]:
    """[rn(x, nd) for x in values]: the fixed-point text less trailing zeros (written in
    numpy, `_decimal_rows`), and `rn` itself where that text is not its answer (outside
    [1e-4, 1e9), NaN, "-0.0") or where numpy cannot vouch for it (near a rounding tie)."""
    a = np.array(values, dtype=np.float64)
    texts, ok = _decimal_rows([(a, nd, True)], len(values))
    with np.errstate(all="ignore"):
        mag = np.abs(a)
        odd = ~((mag >= 1e-4) & (mag < 1e9)) | ((a < 0.0) & (a > -0.1)) | ~ok
    for i in np.flatnonzero(odd).tolist():
        texts[i] = rn(values[i], nd)
    return texts


#: A row's piece: constant text, or a column of numbers written "%.{nd}f" (`strip`: less
#: the trailing zeros past the first decimal).
_Piece = bytes | tuple[FloatArray, int, bool]

#: Rows per block of `_decimal_rows` (its (rows x bytes) arrays stay small: fresh memory
#: costs more than the arithmetic).
_TEXT_BLOCK = 16_384

_DOT, _MINUS = ord("."), ord("-")


def _decimals(a: FloatArray, nd: int, strip: bool) -> tuple[npt.NDArray[np.uint8], BoolArray]:
    """ "%.{nd}f" % x of each x in a (1 <= nd <= 6; less trailing zeros past the first
    decimal if strip) as a row of ASCII bytes, NUL where the text is shorter, and which
    rows are that text: |x| < 1e9 and x * 10**nd clear of a rounding tie (so that rint of
    the rounded product is the correctly rounded value of the exact one)."""
    scale = float(10**nd)
    with np.errstate(all="ignore"):
        y = a * scale
        frac = y - np.floor(y)  # exact
        # |fl(t) - t| <= 2**-53 |t|: a margin of twice that keeps t on fl(t)'s side of .5.
        ok: BoolArray = (np.abs(a) < 1e9) & (np.abs(frac - 0.5) > np.abs(y) * 2.3e-16)
        k = np.where(ok, np.rint(y), 0.0).astype(np.int64)
    neg = (a < 0.0) & (k != 0)  # "%.1f" % -0.01 is "-0.0": not written here (k == 0)
    m = np.abs(k)
    q, f = m // 10**nd, m % 10**nd
    out = np.zeros((len(a), 12 + nd), dtype=np.uint8)
    out[:, 0] = np.where(neg, _MINUS, 0)
    for j in range(10):  # q < 10**10
        p = 10 ** (9 - j)
        digit = (q // p % 10 + 48).astype(np.uint8)
        out[:, 1 + j] = digit if j == 9 else np.where(q >= p, digit, 0)
    out[:, 11] = _DOT
    for i in range(1, nd + 1):
        p = 10 ** (nd - i)
        digit = (f // p % 10 + 48).astype(np.uint8)
        keep = i == 1 or not strip
        out[:, 11 + i] = digit if keep else np.where(f % (10 * p) != 0, digit, 0)
    return out, ok


def _decimal_rows(pieces: Sequence[_Piece], n: int) -> tuple[list[str], BoolArray]:
    """Each row's text of the pieces (constant texts, without NUL or newline, and columns
    of n numbers; `_decimals`), and which rows are that text (a row with a number
    `_decimals` cannot vouch for has a wrong text)."""
    texts: list[str] = []
    ok = np.ones(n, dtype=bool)
    newline = np.full((min(n, _TEXT_BLOCK), 1), 10, dtype=np.uint8)
    for a in range(0, n, _TEXT_BLOCK):
        b = min(a + _TEXT_BLOCK, n)
        parts = []
        for piece in pieces:
            if isinstance(piece, bytes):
                const = np.frombuffer(piece, dtype=np.uint8)[None, :]
                parts.append(np.broadcast_to(const, (b - a, len(piece))))
            else:
                col, nd, strip = piece
                chars, good = _decimals(col[a:b], nd, strip)
                parts.append(chars)
                ok[a:b] &= good
        parts.append(newline[: b - a])
        flat = np.concatenate(parts, axis=1).ravel()
        texts += flat[flat != 0].tobytes().decode("ascii").split("\n")[:-1]
    return texts, ok


def _one_decimal(a: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Values "%.1f" writes as `r1` does, and which rows (of a 2-D array) it can write.

    "%.1f" writes what `r1` writes below 1e9 but "-0.0" for a small negative value:
    values of magnitude under 0.05 (which "%.1f" writes as 0.0 or -0.0, and `r1` as
    "0.0") become 0.0.
    """
    with np.errstate(all="ignore"):
        mag = np.abs(a)
        ok: BoolArray = np.asarray((mag < 1e9).all(axis=-1))  # False for NaN
    rows: FloatArray = np.where(mag < 0.05, 0.0, a)
    return rows, ok


def _ellipses(
    cee: FloatArray, cen: FloatArray, cnn: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
    """`events.ellipse` of every covariance: the same operations, elementwise (numpy for
    + - * and sqrt, `math` per element for atan2, degrees and %), and which are the plain
    case (finite, l1 >= 0) that needs no other check."""
    with np.errstate(all="ignore"):  # NaN, inf: rows left to `event_line`
        half_tr, det = 0.5 * (cee + cnn), cee * cnn - cen * cen
        q = half_tr * half_tr - det
        disc = np.sqrt(np.where(q < 0.0, 0.0, q))  # max(q, 0.0) as Python's max picks
        l1 = half_tr + disc
        l2 = half_tr - disc
        l2 = np.where(l2 < 0.0, 0.0, l2)
        ok: BoolArray = np.isfinite(cee) & np.isfinite(cen) & np.isfinite(cnn) & (l1 >= 0.0)
        major: FloatArray = np.sqrt(CHI2_2D_95 * l1)
        minor: FloatArray = np.sqrt(CHI2_2D_95 * l2)
        tilted = (np.abs(cen) > 1e-12) & ok
    az = np.where(cee >= cnn, 90.0, 0.0)
    rows = np.flatnonzero(tilted)
    # Only the plain rows: l1 - cnn of a row with an infinite variance would warn.
    dy, dx = (l1[rows] - cnn[rows]).tolist(), cen[rows].tolist()
    az[rows] = list(map(math.degrees, map(math.atan2, dy, dx)))
    orient: FloatArray = np.array(list(map(float.__mod__, az.tolist(), repeat(180.0))))
    return major, minor, orient, ok


#: The text of 0 ... 1 in steps of 1e-4, as `rn(x, 4)` writes them.
_TEN_THOUSANDTHS = [rn(k / 10_000, 4) for k in range(10_001)]


def _probabilities(values: list[float]) -> list[str]:
    """[rn(p, 4) for p in values], from a table where p * 1e4 is clear of a rounding tie
    (the table's k / 1e4 rounds as p does), else `rn`."""
    a = np.array(values, dtype=np.float64)
    with np.errstate(all="ignore"):
        y = a * 10_000.0
        k = np.rint(y)
        clear = np.abs(y - np.floor(y) - 0.5) > 1e-9
        ok = (a >= 1e-4) & (a <= 1.0) & clear
    texts = list(map(_TEN_THOUSANDTHS.__getitem__, np.where(ok, k, 0).astype(np.int64).tolist()))
    for i in np.flatnonzero(~ok).tolist():
        texts[i] = rn(values[i], 4)
    return texts


def _clock(times: list[datetime]) -> list[str]:
    """[t.isoformat(timespec="milliseconds")[:-6] for t in times] of UTC times: the date
    once per day, the time of day from its fields in numpy (a fixed-width text)."""
    dates = {o: date.fromordinal(o).isoformat() for o in set(map(date.toordinal, times))}
    fields = np.fromiter(
        chain.from_iterable(map(_HMSU, times)), dtype=np.int64, count=4 * len(times)
    ).reshape(-1, 4)
    h, m, s, ms = fields[:, 0], fields[:, 1], fields[:, 2], fields[:, 3] // 1000
    digits = [h // 10, h % 10, m // 10, m % 10, s // 10, s % 10, ms // 100, ms // 10 % 10, ms % 10]
    chars = np.empty((len(times), 13), dtype=np.uint8)
    for col, d in zip((1, 2, 4, 5, 7, 8, 10, 11, 12), digits, strict=True):
        chars[:, col] = d + 48
    chars[:, 0], chars[:, 3], chars[:, 6], chars[:, 9] = ord("T"), ord(":"), ord(":"), ord(".")
    clock = chars.tobytes().decode("ascii")
    day = list(map(dates.__getitem__, map(date.toordinal, times)))
    return [day[i] + clock[13 * i : 13 * i + 13] for i in range(len(times))]


_HMSU = attrgetter("hour", "minute", "second", "microsecond")

_EVENT = (
    '{"type":"Feature","geometry":{"type":"Point","coordinates":[%s,%s]},'
    '"properties":{"id":"%s","time":"%sZ","kind":"%s","count":%s,"sightings":%s,'
    '"outliers":%s,"craters":%s,%s,"p_side":{%s},"d_line_m":%s,"observers":%s}}'
)
#: The numbers between "craters" and "p_side" (written "%.1f").
_SHAPE = (
    '"cov_m2":[[%.1f,%.1f],[%.1f,%.1f]],"semi_major_m":%.1f,"semi_minor_m":%.1f,'
    '"orientation_deg":%.1f,"crlb_m":%.1f'
)
_SHAPE_PIECES = _SHAPE.encode("ascii").split(b"%.1f")


def _quoted(col: list[str]) -> list[str]:
    """`_str` of each of plain strings."""
    return ['"%s"' % s for s in col]  # noqa: UP031


def _lists(col: list[tuple[str, ...]]) -> list[str]:
    """`_strs` of each row's strings, all of them plain."""
    return ['["%s"]' % '","'.join(x) if x else "[]" for x in col]  # noqa: UP031


def event_lines(events: Sequence[Event]) -> list[str]:
    """[event_line(e) for e in events], a column at a time."""
    if not events:
        return []
    ids, kinds = [e.id for e in events], [e.kind for e in events]
    sightings, outliers = [e.sightings for e in events], [e.outliers for e in events]
    craters, observers = [e.craters for e in events], [e.observers for e in events]
    p_items = list(map(sorted, map(dict.items, map(_P_SIDE, events))))
    keys = [k for items in p_items for k, _ in items]
    times = [e.time for e in events]
    text = [*ids, *kinds, *keys, *map("".join, [*sightings, *outliers, *craters, *observers])]
    if not (_PLAIN.fullmatch("".join(text)) and all(t.tzinfo is UTC for t in times)):
        return [event_line(e) for e in events]
    n = len(events)
    covs = np.fromiter(
        chain.from_iterable(chain.from_iterable(map(_COV, events))), np.float64, 4 * n
    ).reshape(n, 4)
    cee, cen, cnn = covs[:, 0], covs[:, 1], covs[:, 3]
    major, minor, orient, ok = _ellipses(cee, cen, cnn)
    crlb = np.array([e.crlb_m for e in events], dtype=np.float64)
    shapes, ok1 = _shape_texts(np.stack([cee, cen, cnn, major, minor, orient, crlb], axis=1))
    ok &= ok1
    d_lines = [e.d_line_m for e in events]
    d_texts = iter(_fixed_column([d for d in d_lines if d is not None], 1))
    d_col = ["null" if d is None else next(d_texts) for d in d_lines]
    lonlat = _fixed_column([v for e in events for v in (e.lon, e.lat)], 6)
    p_texts = _probabilities([v for items in p_items for _, v in items])
    pairs = list(map('"%s":%s'.__mod__, zip(keys, p_texts, strict=True)))
    cuts = [0, *accumulate(map(len, p_items))]
    p_col = [",".join(pairs[a:b]) for a, b in pairwise(cuts)]
    cols = zip(
        lonlat[0::2], lonlat[1::2], ids, _clock(times), kinds, [e.count for e in events],
        _lists(sightings), _lists(outliers), _lists(craters), shapes, p_col, d_col,
        _lists(observers), strict=True,
    )  # fmt: skip
    lines = list(map(_EVENT.__mod__, cols))
    for i in np.flatnonzero(~ok).tolist():
        lines[i] = event_line(events[i])
    return lines


_P_SIDE, _COV = attrgetter("p_side"), attrgetter("cov_m2")


def _shape_texts(a: FloatArray) -> tuple[list[str], BoolArray]:
    """`_SHAPE` of each row of (cee, cen, cnn, major, minor, orientation, crlb) as
    `event_line` writes it (`r1`), and which rows it can write (`_one_decimal`): the
    digits in numpy (`_decimal_rows`), rows near a rounding tie by %-format."""
    z, ok = _one_decimal(a)  # values of magnitude under 0.05 written 0.0
    order = (0, 1, 1, 2, 3, 4, 5, 6)  # cen twice
    pieces: list[_Piece] = [_SHAPE_PIECES[0]]
    for c, const in zip(order, _SHAPE_PIECES[1:], strict=True):
        pieces += [(np.ascontiguousarray(z[:, c]), 1, False), const]
    texts, clear = _decimal_rows(pieces, len(z))
    for i in np.flatnonzero(~clear).tolist():
        ee, en, nn, major, minor, orient, crlb = z[i].tolist()
        texts[i] = _SHAPE % (ee, en, en, nn, major, minor, orient, crlb)
    return texts, ok


_VIOLATION = (
    '{"type":"Feature","geometry":{"type":"Point","coordinates":[%s,%s]},"properties":'
    '{"id":%s,"rule":%s,"side":%s,"p":%s,"severity":%s,"time":"%s","event_ids":%s,'
    '"detection_ids":%s,"lon":%s,"lat":%s,"description":%s}}'
)


def violation_texts(violations: Sequence[Violation]) -> tuple[str, str]:
    """The violations as GeoJSON features (joined by ",\n") and as CSV rows: the text of
    json.dumps of `output._violation_row` as a feature, and of csv.writer's rows."""
    if not violations:
        return "", ""
    times = [v.time for v in violations]
    # strftime writes a year before 1000 in fewer than four digits, isoformat does not.
    if all(t.tzinfo is UTC and t.year >= 1000 for t in times):
        clock = [t + "Z" for t in _clock(times)]
    else:
        clock = list(map(time_text, times))
    p = _probabilities([v.p for v in violations])
    lonlat = _fixed_column([x for v in violations for x in (v.lon, v.lat)], 6)
    ev_ids, det_ids = [v.event_ids for v in violations], [v.detection_ids for v in violations]
    vids, rules = [v.id for v in violations], [v.rule for v in violations]
    severities, side_l = [v.severity for v in violations], [v.side for v in violations]
    named = [s for s in side_l if s is not None]
    text = [*vids, *rules, *severities, *named, *map("".join, [*ev_ids, *det_ids])]
    if _PLAIN.fullmatch("".join(text)):  # every string as it is, between quotes
        ids, rules_q, severities_q = _quoted(vids), _quoted(rules), _quoted(severities)
        sides = ["null" if s is None else '"%s"' % s for s in side_l]  # noqa: UP031
        ev_col, det_col = _lists(ev_ids), _lists(det_ids)
    else:
        ids, rules_q, severities_q = (
            list(map(_str, vids)),
            list(map(_str, rules)),
            list(map(_str, severities)),
        )
        sides = ["null" if s is None else _str(s) for s in side_l]
        ev_col, det_col = list(map(_strs, ev_ids)), list(map(_strs, det_ids))
    described = list(map(encode_basestring, [v.description for v in violations]))
    features = ",\n".join(
        map(
            _VIOLATION.__mod__,
            zip(
                lonlat[0::2], lonlat[1::2], ids, rules_q, sides, p, severities_q, clock,
                ev_col, det_col, lonlat[0::2], lonlat[1::2], described, strict=True,
            ),
        )
    )  # fmt: skip
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(
        zip(
            vids, rules, ["" if s is None else s for s in side_l],
            _csv_numbers(p, [v.p for v in violations], 4), severities,
            clock, map(";".join, ev_ids), map(";".join, det_ids),
            _csv_numbers(lonlat[0::2], [v.lon for v in violations], 6),
            _csv_numbers(lonlat[1::2], [v.lat for v in violations], 6),
            [v.description for v in violations], strict=True,
        )
    )  # fmt: skip
    return features, buf.getvalue()


def _csv_numbers(texts: list[str], values: list[float], nd: int) -> list[str | float]:
    """What csv.writer writes for round(x, nd): the JSON text where the number is finite
    (both are its repr), the rounded float itself (nan, inf) otherwise."""
    out: list[str | float] = list(texts)
    for i, x in enumerate(values):
        if x - x != 0.0:
            out[i] = round(x, nd)
    return out

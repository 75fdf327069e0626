"""The tables in `_mavlink_defs.py` agree with pymavlink's generated ardupilotmega dialect.

When pymavlink is upgraded, this is the check; `_mavlink_defs.py` says how to regenerate.
"""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from pymavlink.dialects.v20 import ardupilotmega as dialect

from ceasewatch.ingest._mavlink_defs import (
    BY_NAME,
    CRC_EXTRA,
    MESSAGE_DTYPES,
    MESSAGE_NAMES,
    TLOG_TYPES,
)
from ceasewatch.ingest.mavlink import _crc_rows, x25_crc

# struct format character -> numpy dtype, as the wire carries them (little-endian).
_STRUCT = {"B": "u1", "b": "i1", "H": "<u2", "h": "<i2", "I": "<u4", "i": "<i4",
           "Q": "<u8", "q": "<i8", "f": "<f4", "d": "<f8", "c": "S1"}  # fmt: skip


def test_every_id_name_and_crc_extra() -> None:
    theirs = {i: (t.msgname, t.crc_extra) for i, t in dialect.mavlink_map.items()}
    ours = {i: (name, int(CRC_EXTRA[i])) for i, name in MESSAGE_NAMES.items()}
    assert ours == theirs
    assert int((CRC_EXTRA >= 0).sum()) == len(theirs)


def test_crc_check_value() -> None:
    # CRC-16/MCRF4XX of "123456789" is 0x6F91 (the catalogue's check value).
    assert x25_crc(b"123456789") == 0x6F91 == dialect.x25crc(b"123456789").crc


def _wire_of(msgid: int) -> list[tuple[str, str]]:
    """pymavlink's payload layout as (field, dtype) in wire order; arrays as we hold them:
    the quaternion split into q_w..q_z, uint8[n] and char[n] as n-byte strings."""
    t = dialect.mavlink_map[msgid]
    tokens = re.findall(r"(\d*)([a-zA-Z])", t.unpacker.format)
    out: list[tuple[str, str]] = []
    for (count, c), name in zip(tokens, t.ordered_fieldnames, strict=True):
        if name == "q":
            out += [(f"q_{axis}", "<f4") for axis in "wxyz"]
        elif c == "s" or count:
            out.append((name, f"|S{count}"))
        else:
            out.append((name, np.dtype(_STRUCT[c]).str))
    return out


def test_wire_layouts_match_pymavlink() -> None:
    for name in TLOG_TYPES:
        msg = BY_NAME[name]
        t = dialect.mavlink_map[msg.msgid]
        assert t.msgname == name
        assert msg.wire.itemsize == t.unpacker.size, name
        ours = [(f, msg.wire[f].str) for f in msg.wire.names or ()]
        assert ours == _wire_of(msg.msgid), name
        assert (MESSAGE_DTYPES[name].names or ())[:4] == ("file_offset", "t_us", "sysid", "compid")


@given(st.lists(st.binary(min_size=7, max_size=7), min_size=1, max_size=20))
def test_bulk_crc_equals_the_one_at_a_time_crc(rows: list[bytes]) -> None:
    arr = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), 7)
    assert _crc_rows(arr).tolist() == [x25_crc(r) for r in rows]


@given(st.binary(max_size=300))
def test_crc_equals_pymavlink(data: bytes) -> None:
    assert x25_crc(data) == dialect.x25crc(data).crc

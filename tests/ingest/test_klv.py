"""MISB ST 0601 KLV decoder: the published samples and example values, and hostile input.

Where the expected numbers come from:

- The two sample files are the "Dynamic and Constant" and "Dynamic Only" MISMMS packets of
  MISB ST 0902.5 Annex C, as shipped by paretech/klvdata (data/*.bin). klvdata's tests
  (test/test_misb_0601.py) assert, for these very item bytes, the values of the MISB ST
  0601.9 and 0601.11 examples ("Section 8, Conversions and Mappings of Metadata Types"),
  and test_misb.py asserts the 2009-01-12 22:08:22 time stamp and the ST 0102 security set
  bytes. We assert the same numbers, to within one step of each item's integer mapping.
- The "Dynamic and Constant" file's stored checksum (0xAA43) does not match the ST 0601
  running sum of its bytes (0x3E1E); the "Dynamic Only" file's (0xC850) does. The
  mismatch is in the published bytes, not in the algorithm (the same sum, as jmisb's
  Checksum.compute and klvdata's packet_checksum implement it, validates the other file
  and every packet built below), so the test asserts that the file's packet is counted
  and skipped, and decodes it with verify_checksum=False.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.errors import InvalidInput
from ceasewatch.ingest import klv
from ceasewatch.ingest.klv import TAGS, UAS_LS_KEY, KlvPacket, KlvStats, inspect, iter_packets
from tests.ingest.common import item, oid, packet, smap, t_item, umap

DYNAMIC_CONSTANT = "klvdata_DynamicConstantMISMMSPacketData.bin"
DYNAMIC_ONLY = "klvdata_DynamicOnlyMISMMSPacketData.bin"

# One step of each integer mapping, the tolerance against a published example value.
STEP_LAT = 180 / (2**32 - 2)
STEP_LON = 360 / (2**32 - 2)
STEP_ANGLE32 = 360 / (2**32 - 1)
STEP_ALT = 19900 / 65535
STEP_OFFSET = 0.15 / 65534


def read(data: bytes, **kwargs: object) -> tuple[list[KlvPacket], KlvStats]:
    stats = KlvStats()
    packets = list(iter_packets(io.BytesIO(data), stats=stats, **kwargs))  # type: ignore[arg-type]
    return packets, stats


GOOD = packet([t_item(1_700_000_000_000_000), item(13, smap(48.5, 4, 90))])
GOOD2 = packet([t_item(1_700_000_001_000_000), item(14, smap(35.25, 4, 180))])


# -- the real samples -------------------------------------------------------------------


def assert_dynamic_values(p: KlvPacket) -> None:
    """The ST 0601 example values carried by both ST 0902.5 Annex C packets."""
    # 02 08 00 04 60 50 58 4E 01 80: 2009-01-12 22:08:22 UTC (klvdata test_misb.py).
    assert p.t_us == 1_231_798_102_000_000
    assert p.time_utc is not None
    assert p.time_utc.isoformat() == "2009-01-12T22:08:22+00:00"
    # klvdata's asserted interpretations of 05 02 71 C2, 06 02 FD 3D, 07 02 08 B8,
    # 0D 04 55 95 B6 6D, 0E 04 5B 53 60 C4 (ST 0601.9 example items).
    assert p.platform_heading_deg == pytest.approx(159.97436484321355, rel=1e-12)
    assert p.platform_pitch_deg == pytest.approx(-0.4315317239905987, rel=1e-12)
    assert p.platform_roll_deg == pytest.approx(3.4058656575212893, rel=1e-12)
    assert p.sensor_lat_deg == pytest.approx(60.176822966978335, rel=1e-12)
    assert p.sensor_lon_deg == pytest.approx(128.42675904204452, rel=1e-12)
    # ST 0601.11 section 8 example values (klvdata test_misb_0601.py), within one step.
    assert p.platform_roll_deg == pytest.approx(3.405814, abs=100 / 65534)
    assert p.sensor_lat_deg == pytest.approx(60.1768229669783, abs=STEP_LAT)
    assert p.sensor_lon_deg == pytest.approx(128.426759042045, abs=STEP_LON)
    assert p.sensor_true_alt_m == pytest.approx(14190.72, abs=STEP_ALT)
    assert p.sensor_hfov_deg == pytest.approx(144.5713, abs=180 / 65535)
    assert p.sensor_vfov_deg == pytest.approx(152.6436, abs=180 / 65535)
    assert p.sensor_rel_azimuth_deg == pytest.approx(160.719211474396, abs=STEP_ANGLE32)
    assert p.sensor_rel_elevation_deg == pytest.approx(-168.792324833941, abs=STEP_LON)
    # The standard prints this one to 0.01 m (the item's exact value is 68590.9833 m).
    assert p.slant_range_m == pytest.approx(68590.98, abs=0.005)
    assert p.target_width_m == pytest.approx(722.8199, abs=10_000 / 65535)
    assert p.frame_center_lat_deg == pytest.approx(-10.5423886331461, abs=STEP_LAT)
    assert p.frame_center_lon_deg == pytest.approx(29.157890122923, abs=STEP_LON)
    assert p.frame_center_elevation_m == pytest.approx(3216.037, abs=STEP_ALT)
    assert p.ls_version == 6  # 41 01 06 in both files
    assert p.error_value_tags == frozenset()


@pytest.mark.samples
def test_dynamic_only_sample(samples_dir: Path) -> None:
    stats = KlvStats()
    packets = list(iter_packets(samples_dir / "klv" / DYNAMIC_ONLY, stats=stats))
    assert len(packets) == 1
    p = packets[0]
    assert p.checksum_ok is True  # 0xC850 stored and computed
    assert_dynamic_values(p)
    assert p.sensor_rel_roll_deg == 0.0  # 14 04 00 00 00 00 in this file
    assert p.raw_tags == ()
    assert p.corners_deg() is None
    assert stats.as_dict() == KlvStats(packets=1).as_dict()
    assert stats.problems == []


@pytest.mark.samples
def test_dynamic_constant_sample_checksum_is_counted(samples_dir: Path) -> None:
    path = samples_dir / "klv" / DYNAMIC_CONSTANT
    stats = KlvStats()
    assert list(iter_packets(path, stats=stats)) == []
    assert (stats.packets, stats.checksum_failures, stats.bad_bytes) == (0, 1, 0)
    (problem,) = stats.problems
    assert problem.where.endswith(f"{DYNAMIC_CONSTANT}: byte 224 tag 1")
    assert "0xAA43 stored, 0x3E1E computed" in problem.what
    with pytest.raises(InvalidInput, match="not a clean") as err:
        list(iter_packets(path, on_error="raise"))
    assert "byte 224 tag 1" in err.value.diagnostics()


@pytest.mark.samples
def test_dynamic_constant_sample_values(samples_dir: Path) -> None:
    data = (samples_dir / "klv" / DYNAMIC_CONSTANT).read_bytes()
    assert data[16:18] == b"\x81\xd2"  # a real long-form BER length: 210 bytes
    (p,) = iter_packets(io.BytesIO(data), verify_checksum=False)
    assert p.checksum_ok is False
    assert_dynamic_values(p)
    assert p.sensor_rel_roll_deg == pytest.approx(176.865437690572, abs=STEP_ANGLE32)
    # ST 0902.5 Annex C strings (asserted by klvdata-derived tests of this file).
    assert (p.mission_id, p.platform_designation, p.image_source_sensor) == (
        "Mission 12",
        "Predator",
        "EO Nose",
    )
    # Tags not decoded stay raw: 12 image coordinate system, 48 the ST 0102 security set
    # (klvdata test_misb.py's bytes), 94 the MIIS core identifier.
    raw = dict(p.raw_tags)
    assert [tag for tag, _ in p.raw_tags] == [12, 48, 94]
    assert raw[12] == b"Geodetic WGS84"
    assert raw[48] == (
        b"\x01\x01\x01\x02\x01\x07\x03\x05//USA\x0c\x01\x07\r\x06\x00U\x00S\x00A\x16\x02\x00\n"
    )
    assert len(raw[94]) == 34


@pytest.mark.samples
def test_inspect_sample(samples_dir: Path) -> None:
    summary = inspect(samples_dir / "klv" / DYNAMIC_ONLY)
    assert summary["packets"] == 1
    assert summary["bytes"] == 114
    assert summary["time_first"] == summary["time_last"] == "2009-01-12T22:08:22Z"
    assert summary["time_span_s"] == 0.0
    assert summary["sensor_lat_deg"] == [pytest.approx(60.1768229669783)] * 2
    assert summary["ls_versions"] == [6]
    geometry = summary["geometry"]
    assert geometry["sensor_position"] == geometry["frame_center"] == 1
    assert geometry["offset_corners"] == geometry["full_corners"] == 0
    unverified = inspect(samples_dir / "klv" / DYNAMIC_CONSTANT, verify_checksum=False)
    assert unverified["raw_tags"] == {12: 1, 48: 1, 94: 1}


# -- the standard's example items, in packets built here --------------------------------

# (tag, value bytes, expected, tolerance): ST 0601.9/0601.11 example items as klvdata's
# test_misb_0601.py quotes them. Its tag 90 bytes read "62 E2 F2", one byte short of the
# 4-byte item; FF 62 E2 F2 is the encoding of the quoted -0.4315251.
FC_LAT, FC_LON = -10.5423886331461, 29.157890122923
EXAMPLES: list[tuple[int, str, object, float]] = [
    (2, "00 04 59 F4 A6 AA 4A A8", 1_224_807_209_913_000, 0),  # 2008-10-24 00:13:29.913
    (3, "4D 49 53 53 49 4F 4E 30 31", "MISSION01", 0),
    (4, "41 46 2D 31 30 31", "AF-101", 0),
    (10, "4D 51 31 2D 42", "MQ1-B", 0),
    (11, "45 4F", "EO", 0),
    (26, "C0 6E", -10.579637999887 - FC_LAT, STEP_OFFSET),
    (27, "CB E9", 29.1273677986333 - FC_LON, STEP_OFFSET),
    (28, "D7 65", -10.5661816260963 - FC_LAT, STEP_OFFSET),
    (29, "E2 E0", 29.140824172424 - FC_LON, STEP_OFFSET),
    (30, "EE 5B", -10.5527275411938 - FC_LAT, STEP_OFFSET),
    (31, "F9 D6", 29.1542782573265 - FC_LON, STEP_OFFSET),
    (32, "05 52", -10.5392711674031 - FC_LAT, STEP_OFFSET),
    (33, "10 CD", 29.1677346311172 - FC_LON, STEP_OFFSET),
    (65, "E8", 232, 0),
    (82, "F0 F4 12 44", -10.579637999887, STEP_LAT),
    (83, "14 B6 79 B9", 29.1273677986333, STEP_LON),
    (84, "F0 F8 F8 7E", -10.5661816260963, STEP_LAT),
    (85, "14 B8 EC D6", 29.140824172424, STEP_LON),
    (86, "F0 FD DE 81", -10.5527275411938, STEP_LAT),
    (87, "14 BB 5F D8", 29.1542782573265, STEP_LON),
    (88, "F1 02 C4 BB", -10.5392711674031, STEP_LAT),
    (89, "14 BD D2 F5", 29.1677346311172, STEP_LON),
    (90, "FF 62 E2 F2", -0.4315251, STEP_LAT),
    (91, "04 D8 04 DF", 3.405814, STEP_LAT),
]


def test_standard_example_items() -> None:
    items = [item(tag, bytes.fromhex(hexed)) for tag, hexed, _, _ in EXAMPLES]
    items += [item(23, bytes.fromhex("F1 01 A2 29")), item(24, bytes.fromhex("14 BC 08 2B"))]
    ((p,), stats) = read(packet(items))
    assert p.checksum_ok is True
    for tag, _, expected, tolerance in EXAMPLES:
        got = getattr(p, TAGS[tag].name)
        if isinstance(expected, float):
            assert got == pytest.approx(expected, abs=tolerance), tag
        else:
            assert got == expected, tag
    assert p.time_utc is not None
    assert p.time_utc.isoformat() == "2008-10-24T00:13:29.913000+00:00"
    full, offset = p.full_corners_deg(), p.offset_corners_deg()
    assert full is not None and offset is not None
    assert full[0][0] == pytest.approx(-10.579637999887, abs=STEP_LAT)
    assert full[0][1] == pytest.approx(29.1273677986333, abs=STEP_LON)
    for (lat_f, lon_f), (lat_o, lon_o) in zip(full, offset, strict=True):
        assert lat_o == pytest.approx(lat_f, abs=2 * STEP_OFFSET)
        assert lon_o == pytest.approx(lon_f, abs=2 * STEP_OFFSET)
    assert p.corners_deg() == full
    assert p.pitch_deg == p.platform_pitch_full_deg
    assert stats.problems == []


def test_every_decoded_tag_is_a_packet_field() -> None:
    names = set(KlvPacket.__dataclass_fields__)
    assert {spec.name for spec in TAGS.values()} <= names
    assert set(klv.__all__) <= set(dir(klv))


# -- reserved error values mean "unknown", not a failed packet --------------------------

SIGNED = sorted(tag for tag, spec in TAGS.items() if spec.kind == "smap")


@pytest.mark.parametrize("tag", SIGNED)
def test_error_value_is_unknown(tag: int) -> None:
    size = TAGS[tag].size
    reserved = (0x80 << (8 * size - 8)).to_bytes(size, "big")
    ((p,), stats) = read(packet([t_item(1), item(tag, reserved)]))
    assert getattr(p, TAGS[tag].name) is None
    assert p.error_value_tags == {tag}
    assert stats.error_values == {tag: 1}
    assert (stats.packets, stats.problems) == (1, [])


def test_error_values_leave_the_rest_of_the_packet() -> None:
    """The sensor looks above the horizon: no frame centre, but the platform is known."""
    items = [
        t_item(5),
        item(13, smap(48.5, 4, 90)),
        item(14, smap(35.25, 4, 180)),
        item(23, b"\x80\x00\x00\x00"),
        item(24, b"\x80\x00\x00\x00"),
        item(26, b"\x80\x00"),
    ]
    (p, *_), stats = read(packet(items) * 3)
    assert (p.frame_center_lat_deg, p.frame_center_lon_deg, p.offset_corner1_lat_deg) == (
        None,
        None,
        None,
    )
    assert p.sensor_lat_deg == pytest.approx(48.5, abs=STEP_LAT)
    assert p.sensor_lon_deg == pytest.approx(35.25, abs=STEP_LON)
    assert p.error_value_tags == {23, 24, 26}
    assert stats.error_values == {23: 3, 24: 3, 26: 3}
    assert stats.packets == 3


def test_signed_range_ends() -> None:
    items = [item(13, b"\x80\x00\x00\x01"), item(14, b"\x7f\xff\xff\xff"), item(6, b"\x80\x01")]
    ((p,), _) = read(packet(items))
    assert (p.sensor_lat_deg, p.sensor_lon_deg, p.platform_pitch_deg) == (-90.0, 180.0, -20.0)


# -- corrupt packets are counted and skipped; the read goes on --------------------------


def test_checksum_failure_counted_and_skipped() -> None:
    bad = packet([t_item(7), item(13, smap(1.0, 4, 90))], corrupt=True)
    packets, stats = read(GOOD + bad + GOOD2)
    assert [p.offset for p in packets] == [0, len(GOOD) + len(bad)]
    assert (stats.packets, stats.checksum_failures, stats.bad_bytes) == (2, 1, 0)
    # The problem points at the checksum item (its tag byte), 4 bytes before the end.
    assert stats.problems[0].where == f"<stream>: byte {len(GOOD) + len(bad) - 4} tag 1"
    kept, _ = read(GOOD + bad + GOOD2, verify_checksum=False)
    assert [p.checksum_ok for p in kept] == [True, False, True]
    assert kept[1].t_us == 7


def test_any_flipped_bit_is_caught() -> None:
    """A flipped bit in the key loses the packet (bad bytes), anywhere else fails it."""
    for i in range(len(GOOD)):
        for bit in (0x01, 0x80):
            flipped = bytearray(GOOD)
            flipped[i] ^= bit
            packets, stats = read(bytes(flipped) + GOOD2)
            assert [p.t_us for p in packets] == [1_700_000_001_000_000], i
            failed = stats.checksum_failures + stats.malformed + stats.missing_checksum
            if i < len(UAS_LS_KEY):
                assert (failed, stats.bad_bytes) == (0, len(GOOD)), i
            else:
                assert failed == 1, i


def test_missing_checksum() -> None:
    bare = packet([t_item(9)], checksum=False)
    packets, stats = read(bare + GOOD)
    assert len(packets) == 1
    assert stats.missing_checksum == 1
    kept, _ = read(bare, verify_checksum=False)
    assert [(p.checksum_ok, p.t_us) for p in kept] == [(None, 9)]


def test_bad_lengths_resync_at_next_key() -> None:
    indefinite = UAS_LS_KEY + b"\x80" + b"\x00" * 8
    too_long = UAS_LS_KEY + b"\x84\xff\xff\xff\xff" + b"\x00" * 8
    overrun = UAS_LS_KEY + b"\x04" + b"\x0d\x09\x00\x00"  # item claims 9 of 2 bytes
    packets, stats = read(indefinite + GOOD + too_long + overrun + GOOD2)
    assert [p.t_us for p in packets] == [1_700_000_000_000_000, 1_700_000_001_000_000]
    assert stats.malformed == 3
    assert stats.packets == 2
    # A length that cannot be read, or is absurd, is not trusted: the bytes after those
    # keys are bad bytes. The overrun packet's length was plausible and is its extent.
    assert stats.bad_bytes == 8 + 8


def test_wrong_item_length_is_unknown_and_kept_raw() -> None:
    ((p,), stats) = read(packet([item(13, b"\x01\x02\x03"), item(5, b"\x71\xc2")]))
    assert p.sensor_lat_deg is None
    assert p.platform_heading_deg == pytest.approx(159.974, abs=0.001)
    assert p.raw_tags == ((13, b"\x01\x02\x03"),)
    assert stats.bad_tag_lengths == {13: 1}
    assert [pr.severity for pr in stats.problems] == ["warning"]
    assert "tag 13" in stats.problems[0].where


def test_unknown_tags_kept_raw_in_order() -> None:
    items = [item(200, b"\xab\xcd"), t_item(3), item(47, b"\x31"), item(48, b"")]
    assert oid(200) == b"\x81\x48"  # a two-byte BER-OID tag
    ((p,), stats) = read(packet(items))
    assert p.raw_tags == ((200, b"\xab\xcd"), (47, b"\x31"), (48, b""))
    assert p.t_us == 3
    assert stats.problems == []


def test_long_form_ber_lengths() -> None:
    mission = "M" * 200  # needs the long form: 81 C8
    items = [
        item(3, mission.encode()),
        item(4, b"AF-101", width=2),  # non-minimal 82 00 06
        item(13, smap(-33.0, 4, 90), width=1),  # 81 04
    ]
    for width in (0, 1, 2, 4, 8):
        ((p,), stats) = read(packet(items, width=width))
        assert (p.mission_id, p.platform_tail_number) == (mission, "AF-101")
        assert p.sensor_lat_deg == pytest.approx(-33.0, abs=STEP_LAT)
        assert stats.problems == []


# -- truncation and garbage -------------------------------------------------------------


def test_truncated_at_every_offset() -> None:
    stream = GOOD + GOOD2
    for cut in range(len(stream) + 1):
        packets, stats = read(stream[:cut])
        whole = sum(cut >= end for end in (len(GOOD), len(stream)))
        assert len(packets) == whole, cut
        inside = cut - (len(GOOD) if cut >= len(GOOD) else 0)
        if inside == 0 or cut == len(stream):
            assert (stats.truncated, stats.bad_bytes) == (0, 0), cut
        elif inside < len(UAS_LS_KEY):  # a partial key is just bytes
            assert (stats.truncated, stats.bad_bytes) == (0, inside), cut
        else:
            assert (stats.truncated, stats.bad_bytes) == (1, 0), cut


def test_garbage_between_packets() -> None:
    junk1 = b"\x00\xff" * 50
    junk2 = UAS_LS_KEY[:10] + b"junk" + UAS_LS_KEY[:15]  # almost-keys
    junk3 = b"tail"
    packets, stats = read(junk1 + GOOD + junk2 + GOOD2 + junk3, chunk_bytes=7)
    assert [p.offset for p in packets] == [100, 100 + len(GOOD) + len(junk2)]
    assert stats.bad_bytes == len(junk1) + len(junk2) + len(junk3)
    assert [p.where for p in stats.problems] == [
        "<stream>: byte 0",
        f"<stream>: byte {100 + len(GOOD)}",
        f"<stream>: byte {100 + len(GOOD) + len(junk2) + len(GOOD2)}",
    ]
    assert "ffmpeg" in stats.problems[0].what


def test_on_error_raise_says_where() -> None:
    with pytest.raises(InvalidInput) as err:
        list(iter_packets(io.BytesIO(GOOD + b"xyz" + GOOD2), on_error="raise"))
    assert err.value.problems[0].where == f"<stream>: byte {len(GOOD)}"
    assert list(iter_packets(io.BytesIO(GOOD + GOOD2), on_error="raise")) == read(GOOD + GOOD2)[0]


def test_path_and_file_object_agree(tmp_path: Path) -> None:
    path = tmp_path / "flight.klv"
    path.write_bytes(b"??" + GOOD + GOOD2)
    stats = KlvStats()
    from_path = list(iter_packets(path, stats=stats, chunk_bytes=3))
    with path.open("rb") as f:
        from_file = list(iter_packets(f))
    assert from_path == from_file
    assert stats.problems[0].where == f"{path}: byte 0"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="positive"):
        list(iter_packets(io.BytesIO(GOOD), chunk_bytes=0))
    with pytest.raises(ValueError, match="on_error"):
        list(iter_packets(io.BytesIO(GOOD), on_error="ignore"))  # type: ignore[arg-type]


def test_inspect_summary(tmp_path: Path) -> None:
    corners = [item(82 + i, smap(10.0 + i, 4, 90 if i % 2 == 0 else 180)) for i in range(8)]
    first = packet([t_item(1_000_000), item(13, smap(10.0, 4, 90)), item(14, smap(20, 4, 180))])
    second = packet(
        [t_item(3_500_000), item(13, smap(11.0, 4, 90)), item(14, smap(19, 4, 180)), *corners]
    )
    path = tmp_path / "flight.klv"
    path.write_bytes(first + b"!!" + second + second[:-5])
    summary = inspect(path)
    assert (summary["packets"], summary["bad_bytes"], summary["truncated"]) == (2, 2, 1)
    assert summary["time_first"] == "1970-01-01T00:00:01Z"
    assert summary["time_span_s"] == 2.5
    assert summary["sensor_lat_deg"] == [pytest.approx(10.0), pytest.approx(11.0)]
    assert summary["sensor_lon_deg"] == [pytest.approx(19.0), pytest.approx(20.0)]
    assert summary["frame_center_lat_deg"] is None
    assert summary["geometry"]["sensor_position"] == 2
    assert summary["geometry"]["full_corners"] == 1


# -- properties -------------------------------------------------------------------------


@settings(deadline=None)
@given(st.binary(max_size=600), st.integers(1, 64))
def test_random_bytes_never_raise(data: bytes, chunk: int) -> None:
    _, stats = read(data, chunk_bytes=chunk)
    assert stats.bad_bytes <= len(data)
    with pytest.raises(InvalidInput):
        list(iter_packets(io.BytesIO(data + b"\x00"), on_error="raise"))


@settings(deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=300), st.integers(1, 64))
def test_packets_survive_surrounding_garbage(a: bytes, b: bytes, chunk: int) -> None:
    packets, _ = read(a + GOOD + b + GOOD2, chunk_bytes=chunk)
    assert [p.offset for p in packets][-2:] == [len(a), len(a) + len(GOOD) + len(b)]


@settings(deadline=None)
@given(st.lists(st.sampled_from([GOOD, GOOD2, b"\x00", b"\x06\x0e+4"]), max_size=12))
def test_chunk_size_does_not_matter(parts: list[bytes]) -> None:
    data = b"".join(parts)
    whole = read(data)
    for chunk in (1, 5, 16, 17):
        packets, stats = read(data, chunk_bytes=chunk)
        assert packets == whole[0]
        assert stats.as_dict() == whole[1].as_dict()


@settings(deadline=None)
@given(
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.floats(0, 360),
    st.floats(-900, 19000),
    st.integers(0, 2**64 - 1),
)
def test_encode_decode_round_trip(
    lat: float, lon: float, heading: float, alt: float, t_us: int
) -> None:
    items = [
        t_item(t_us),
        item(13, smap(lat, 4, 90)),
        item(14, smap(lon, 4, 180)),
        item(5, umap(heading, 2, 0, 360)),
        item(15, umap(alt, 2, -900, 19000)),
    ]
    ((p,), _) = read(packet(items))
    assert p.t_us == t_us
    assert p.sensor_lat_deg == pytest.approx(lat, abs=STEP_LAT)
    assert p.sensor_lon_deg == pytest.approx(lon, abs=STEP_LON)
    assert p.platform_heading_deg == pytest.approx(heading, abs=360 / 65535)
    assert p.sensor_true_alt_m == pytest.approx(alt, abs=STEP_ALT)

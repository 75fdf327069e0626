"""A typed door to pymavlink's MAVLink 2 encoders (pymavlink ships no type stubs).

Only this module touches pymavlink; the rest of `sim` sees `Encoder.frame(...) -> bytes`.
Frames are MAVLink 2 (mavlink.io/en/guide/serialization.html) of the ardupilotmega
dialect (common.xml plus ArduPilot's CAMERA_FEEDBACK), packed by pymavlink itself, so
their CRC_EXTRA and field order are pymavlink's, not ours.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Encoder"]


class Encoder:
    """Packs messages of one vehicle (system id), keeping a sequence number per component."""

    def __init__(self, sysid: int) -> None:
        from pymavlink.dialects.v20 import ardupilotmega

        self._dialect: Any = ardupilotmega
        self._mav: Any = ardupilotmega.MAVLink(None, srcSystem=sysid, srcComponent=1)
        self._seq: dict[int, int] = {}

    def frame(self, compid: int, name: str, **fields: Any) -> bytes:
        """The MAVLink 2 frame of message `name` (e.g. "GLOBAL_POSITION_INT") from `compid`.

        Raises:
            AttributeError: the dialect has no such message.
            TypeError, struct.error: a field is missing or out of its wire type's range.
        """
        cls = getattr(self._dialect, f"MAVLink_{name.lower()}_message")
        seq = self._seq.get(compid, 0)
        self._mav.srcComponent = compid
        self._mav.seq = seq
        packed = cls(**fields).pack(self._mav)
        self._seq[compid] = (seq + 1) % 256
        return bytes(packed)

"""MAVLink telemetry logs (`.tlog`): stream them, check every CRC, decode what a monitor needs.

A tlog (QGroundControl, MAVProxy, Mission Planner) is a run of records: an 8-byte big-endian
timestamp (microseconds since 1970, when the ground station received the frame) and one
MAVLink 1 or MAVLink 2 frame, as pymavlink's `mavlogfile` writes them. Frames follow
mavlink.io/en/guide/serialization.html: magic 0xFE (v1) or 0xFD (v2), a header, the payload
(MAVLink 2 trims trailing zero bytes; a reader zero-extends), a CRC-16/MCRF4XX ("X.25") over
every byte after the magic plus the message's CRC_EXTRA, and in MAVLink 2 a 13-byte signature
when incompat flag 0x01 is set. Message ids, CRC_EXTRA values and payload layouts are those of
common.xml (with standard.xml) and ardupilotmega.xml as pymavlink 2.4.50 generates them;
tests/ingest/test_mavlink_spec.py checks the table and the layouts against pymavlink.

How it goes fast, with no Python loop per frame: every position of a chunk whose byte 8 on
is a valid header is linked to the record after it, and the chain of records from a known
start is followed with pointers 2**k records ahead; the CRCs of all frames of one length are
computed together, 16 bits per table lookup; the payloads of one message type are gathered,
zero-extended and viewed as a packed structured dtype, then scaled to SI units. Only the
current chunk (and at most two records carried into the next) is held, so memory does not
grow with the file; any chunk size gives the same answer.

Damage is counted, never fatal. A frame whose CRC fails is a CRC error when the next record
starts where its length says and is sound, with a timestamp within a day of its own (so the
length byte was right); otherwise its bytes are bad data and the reader resynchronises at
the next position that holds a frame whose CRC checks (or, for an id not in the table, that
is followed by another frame). Every byte of the file ends up in exactly one of: a frame,
`bad_data_bytes`, `truncated_tail_bytes`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, Final, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from ceasewatch.errors import InvalidInput, Problem

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "MESSAGE_DTYPES",
    "MESSAGE_NAMES",
    "TLOG_TYPES",
    "Tlog",
    "TlogBatch",
    "TlogCounts",
    "load_tlog",
    "looks_like_tlog",
    "read_tlog",
    "x25_crc",
]

Source = str | os.PathLike[str] | IO[bytes]

#: Bytes read from the file at a time; memory use is a small multiple of this.
DEFAULT_CHUNK_BYTES: Final = 4 << 20
#: Problems (with byte offsets) kept per file; the counts cover everything.
MAX_PROBLEMS: Final = 20

_MAGIC_V1: Final = 0xFE
_MAGIC_V2: Final = 0xFD
_STAMP: Final = 8  # tlog timestamp bytes before each frame
_PAD: Final = 300  # zero bytes after a buffer: more than the longest record
_SIGNATURE: Final = 13

# id:NAME:CRC_EXTRA for every message of ardupilotmega.xml and what it includes (common,
# standard, minimal, uAvionix, icarous, cubepilot, csAirLink, loweheiser), from pymavlink
# 2.4.50. CRC_EXTRA is a hash of the message's name and base fields: a sender with another
# definition of the message fails the CRC, which is why unknown ids are counted, not checked.
_TABLE = """
0:HEARTBEAT:50 1:SYS_STATUS:124 2:SYSTEM_TIME:137 4:PING:237
5:CHANGE_OPERATOR_CONTROL:217 6:CHANGE_OPERATOR_CONTROL_ACK:104 7:AUTH_KEY:119
11:SET_MODE:89 20:PARAM_REQUEST_READ:214 21:PARAM_REQUEST_LIST:159 22:PARAM_VALUE:220
23:PARAM_SET:168 24:GPS_RAW_INT:24 25:GPS_STATUS:23 26:SCALED_IMU:170 27:RAW_IMU:144
28:RAW_PRESSURE:67 29:SCALED_PRESSURE:115 30:ATTITUDE:39 31:ATTITUDE_QUATERNION:246
32:LOCAL_POSITION_NED:185 33:GLOBAL_POSITION_INT:104 34:RC_CHANNELS_SCALED:237
35:RC_CHANNELS_RAW:244 36:SERVO_OUTPUT_RAW:222 37:MISSION_REQUEST_PARTIAL_LIST:212
38:MISSION_WRITE_PARTIAL_LIST:9 39:MISSION_ITEM:254 40:MISSION_REQUEST:230
41:MISSION_SET_CURRENT:28 42:MISSION_CURRENT:28 43:MISSION_REQUEST_LIST:132
44:MISSION_COUNT:221 45:MISSION_CLEAR_ALL:232 46:MISSION_ITEM_REACHED:11
47:MISSION_ACK:153 48:SET_GPS_GLOBAL_ORIGIN:41 49:GPS_GLOBAL_ORIGIN:39
50:PARAM_MAP_RC:78 51:MISSION_REQUEST_INT:196 54:SAFETY_SET_ALLOWED_AREA:15
55:SAFETY_ALLOWED_AREA:3 61:ATTITUDE_QUATERNION_COV:167 62:NAV_CONTROLLER_OUTPUT:183
63:GLOBAL_POSITION_INT_COV:119 64:LOCAL_POSITION_NED_COV:191 65:RC_CHANNELS:118
66:REQUEST_DATA_STREAM:148 67:DATA_STREAM:21 69:MANUAL_CONTROL:243
70:RC_CHANNELS_OVERRIDE:124 73:MISSION_ITEM_INT:38 74:VFR_HUD:20 75:COMMAND_INT:158
76:COMMAND_LONG:152 77:COMMAND_ACK:143 81:MANUAL_SETPOINT:106 82:SET_ATTITUDE_TARGET:49
83:ATTITUDE_TARGET:22 84:SET_POSITION_TARGET_LOCAL_NED:143
85:POSITION_TARGET_LOCAL_NED:140 86:SET_POSITION_TARGET_GLOBAL_INT:5
87:POSITION_TARGET_GLOBAL_INT:150 89:LOCAL_POSITION_NED_SYSTEM_GLOBAL_OFFSET:231
90:HIL_STATE:183 91:HIL_CONTROLS:63 92:HIL_RC_INPUTS_RAW:54 93:HIL_ACTUATOR_CONTROLS:47
100:OPTICAL_FLOW:175 101:GLOBAL_VISION_POSITION_ESTIMATE:102
102:VISION_POSITION_ESTIMATE:158 103:VISION_SPEED_ESTIMATE:208
104:VICON_POSITION_ESTIMATE:56 105:HIGHRES_IMU:93 106:OPTICAL_FLOW_RAD:138
107:HIL_SENSOR:108 108:SIM_STATE:32 109:RADIO_STATUS:185 110:FILE_TRANSFER_PROTOCOL:84
111:TIMESYNC:34 112:CAMERA_TRIGGER:174 113:HIL_GPS:124 114:HIL_OPTICAL_FLOW:237
115:HIL_STATE_QUATERNION:4 116:SCALED_IMU2:76 117:LOG_REQUEST_LIST:128 118:LOG_ENTRY:56
119:LOG_REQUEST_DATA:116 120:LOG_DATA:134 121:LOG_ERASE:237 122:LOG_REQUEST_END:203
123:GPS_INJECT_DATA:250 124:GPS2_RAW:87 125:POWER_STATUS:203 126:SERIAL_CONTROL:220
127:GPS_RTK:25 128:GPS2_RTK:226 129:SCALED_IMU3:46 130:DATA_TRANSMISSION_HANDSHAKE:29
131:ENCAPSULATED_DATA:223 132:DISTANCE_SENSOR:85 133:TERRAIN_REQUEST:6
134:TERRAIN_DATA:229 135:TERRAIN_CHECK:203 136:TERRAIN_REPORT:1 137:SCALED_PRESSURE2:195
138:ATT_POS_MOCAP:109 139:SET_ACTUATOR_CONTROL_TARGET:168
140:ACTUATOR_CONTROL_TARGET:181 141:ALTITUDE:47 142:RESOURCE_REQUEST:72
143:SCALED_PRESSURE3:131 144:FOLLOW_TARGET:127 146:CONTROL_SYSTEM_STATE:103
147:BATTERY_STATUS:154 148:AUTOPILOT_VERSION:178 149:LANDING_TARGET:200
150:SENSOR_OFFSETS:134 151:SET_MAG_OFFSETS:219 152:MEMINFO:208 153:AP_ADC:188
154:DIGICAM_CONFIGURE:84 155:DIGICAM_CONTROL:22 156:MOUNT_CONFIGURE:19
157:MOUNT_CONTROL:21 158:MOUNT_STATUS:134 160:FENCE_POINT:78 161:FENCE_FETCH_POINT:68
162:FENCE_STATUS:189 163:AHRS:127 164:SIMSTATE:154 165:HWSTATUS:21 166:RADIO:21
167:LIMITS_STATUS:144 168:WIND:1 169:DATA16:234 170:DATA32:73 171:DATA64:181
172:DATA96:22 173:RANGEFINDER:83 174:AIRSPEED_AUTOCAL:167 175:RALLY_POINT:138
176:RALLY_FETCH_POINT:234 177:COMPASSMOT_STATUS:240 178:AHRS2:47 179:CAMERA_STATUS:189
180:CAMERA_FEEDBACK:52 181:BATTERY2:174 182:AHRS3:229 183:AUTOPILOT_VERSION_REQUEST:85
184:REMOTE_LOG_DATA_BLOCK:159 185:REMOTE_LOG_BLOCK_STATUS:186 186:LED_CONTROL:72
191:MAG_CAL_PROGRESS:92 192:MAG_CAL_REPORT:36 193:EKF_STATUS_REPORT:71 194:PID_TUNING:98
195:DEEPSTALL:120 200:GIMBAL_REPORT:134 201:GIMBAL_CONTROL:205
214:GIMBAL_TORQUE_CMD_REPORT:69 215:GOPRO_HEARTBEAT:101 216:GOPRO_GET_REQUEST:50
217:GOPRO_GET_RESPONSE:202 218:GOPRO_SET_REQUEST:17 219:GOPRO_SET_RESPONSE:162
225:EFI_STATUS:208 226:RPM:207 230:ESTIMATOR_STATUS:163 231:WIND_COV:105
232:GPS_INPUT:151 233:GPS_RTCM_DATA:35 234:HIGH_LATENCY:150 235:HIGH_LATENCY2:179
241:VIBRATION:90 242:HOME_POSITION:104 243:SET_HOME_POSITION:85 244:MESSAGE_INTERVAL:95
245:EXTENDED_SYS_STATE:130 246:ADSB_VEHICLE:184 247:COLLISION:81 248:V2_EXTENSION:8
249:MEMORY_VECT:204 250:DEBUG_VECT:49 251:NAMED_VALUE_FLOAT:170 252:NAMED_VALUE_INT:44
253:STATUSTEXT:83 254:DEBUG:46 256:SETUP_SIGNING:71 257:BUTTON_CHANGE:131
258:PLAY_TUNE:187 259:CAMERA_INFORMATION:92 260:CAMERA_SETTINGS:146
261:STORAGE_INFORMATION:179 262:CAMERA_CAPTURE_STATUS:12 263:CAMERA_IMAGE_CAPTURED:133
264:FLIGHT_INFORMATION:49 265:MOUNT_ORIENTATION:26 266:LOGGING_DATA:193
267:LOGGING_DATA_ACKED:35 268:LOGGING_ACK:14 269:VIDEO_STREAM_INFORMATION:109
270:VIDEO_STREAM_STATUS:59 271:CAMERA_FOV_STATUS:22 275:CAMERA_TRACKING_IMAGE_STATUS:126
276:CAMERA_TRACKING_GEO_STATUS:18 277:CAMERA_THERMAL_RANGE:62
280:GIMBAL_MANAGER_INFORMATION:70 281:GIMBAL_MANAGER_STATUS:48
282:GIMBAL_MANAGER_SET_ATTITUDE:123 283:GIMBAL_DEVICE_INFORMATION:74
284:GIMBAL_DEVICE_SET_ATTITUDE:99 285:GIMBAL_DEVICE_ATTITUDE_STATUS:137
286:AUTOPILOT_STATE_FOR_GIMBAL_DEVICE:210 287:GIMBAL_MANAGER_SET_PITCHYAW:1
288:GIMBAL_MANAGER_SET_MANUAL_CONTROL:20 295:AIRSPEED:234 296:GLOBAL_POSITION_SENSOR:158
299:WIFI_CONFIG_AP:19 301:AIS_VESSEL:243 310:UAVCAN_NODE_STATUS:28
311:UAVCAN_NODE_INFO:95 320:PARAM_EXT_REQUEST_READ:243 321:PARAM_EXT_REQUEST_LIST:88
322:PARAM_EXT_VALUE:243 323:PARAM_EXT_SET:78 324:PARAM_EXT_ACK:132
330:OBSTACLE_DISTANCE:23 331:ODOMETRY:91 332:TRAJECTORY_REPRESENTATION_WAYPOINTS:236
333:TRAJECTORY_REPRESENTATION_BEZIER:231 335:ISBD_LINK_STATUS:225 339:RAW_RPM:199
340:UTM_GLOBAL_POSITION:99 345:PARAM_ERROR:209 350:DEBUG_FLOAT_ARRAY:232
360:ORBIT_EXECUTION_STATUS:11 370:SMART_BATTERY_INFO:75 373:GENERATOR_STATUS:117
375:ACTUATOR_OUTPUT_STATUS:251 376:RELAY_STATUS:199 385:TUNNEL:147 386:CAN_FRAME:132
387:CANFD_FRAME:4 388:CAN_FILTER_MODIFY:8 390:ONBOARD_COMPUTER_STATUS:156
9000:WHEEL_DISTANCE:113 9005:WINCH_STATUS:117 10001:UAVIONIX_ADSB_OUT_CFG:209
10002:UAVIONIX_ADSB_OUT_DYNAMIC:186 10003:UAVIONIX_ADSB_TRANSCEIVER_HEALTH_REPORT:4
10004:UAVIONIX_ADSB_OUT_CFG_REGISTRATION:133 10005:UAVIONIX_ADSB_OUT_CFG_FLIGHTID:103
10006:UAVIONIX_ADSB_GET:193 10007:UAVIONIX_ADSB_OUT_CONTROL:71
10008:UAVIONIX_ADSB_OUT_STATUS:240 10151:LOWEHEISER_GOV_EFI:195 11000:DEVICE_OP_READ:134
11001:DEVICE_OP_READ_REPLY:15 11002:DEVICE_OP_WRITE:234 11003:DEVICE_OP_WRITE_REPLY:64
11004:SECURE_COMMAND:11 11005:SECURE_COMMAND_REPLY:93 11010:ADAP_TUNING:46
11011:VISION_POSITION_DELTA:106 11020:AOA_SSA:205 11030:ESC_TELEMETRY_1_TO_4:144
11031:ESC_TELEMETRY_5_TO_8:133 11032:ESC_TELEMETRY_9_TO_12:85 11033:OSD_PARAM_CONFIG:195
11034:OSD_PARAM_CONFIG_REPLY:79 11035:OSD_PARAM_SHOW_CONFIG:128
11036:OSD_PARAM_SHOW_CONFIG_REPLY:177 11037:OBSTACLE_DISTANCE_3D:130
11038:WATER_DEPTH:47 11039:MCU_STATUS:142 11040:ESC_TELEMETRY_13_TO_16:132
11041:ESC_TELEMETRY_17_TO_20:208 11042:ESC_TELEMETRY_21_TO_24:201
11043:ESC_TELEMETRY_25_TO_28:193 11044:ESC_TELEMETRY_29_TO_32:189
11060:NAMED_VALUE_STRING:162 12900:OPEN_DRONE_ID_BASIC_ID:114
12901:OPEN_DRONE_ID_LOCATION:254 12902:OPEN_DRONE_ID_AUTHENTICATION:140
12903:OPEN_DRONE_ID_SELF_ID:249 12904:OPEN_DRONE_ID_SYSTEM:77
12905:OPEN_DRONE_ID_OPERATOR_ID:49 12915:OPEN_DRONE_ID_MESSAGE_PACK:94
12918:OPEN_DRONE_ID_ARM_STATUS:139 12919:OPEN_DRONE_ID_SYSTEM_UPDATE:7
12920:HYGROMETER_SENSOR:20 42000:ICAROUS_HEARTBEAT:227 42001:ICAROUS_KINEMATIC_BANDS:239
50001:CUBEPILOT_RAW_RC:246 50002:HERELINK_VIDEO_STREAM_INFORMATION:181
50003:HERELINK_TELEM:62 50004:CUBEPILOT_FIRMWARE_UPDATE_START:240
50005:CUBEPILOT_FIRMWARE_UPDATE_RESP:152 52000:AIRLINK_AUTH:13
52001:AIRLINK_AUTH_RESPONSE:239
"""

#: Message name by id, for every id whose CRC this reader can check.
MESSAGE_NAMES: Final[Mapping[int, str]] = {
    int(i): name for i, name, _ in (tok.split(":") for tok in _TABLE.split())
}
_EXTRA = np.full(1 << 16, -1, dtype=np.int16)  # CRC_EXTRA by id; -1: unknown (all ids < 2**16)
for _tok in _TABLE.split():
    _i, _, _x = _tok.split(":")
    _EXTRA[int(_i)] = int(_x)


# --- CRC-16/MCRF4XX (poly 0x1021 reflected, init 0xFFFF, no final xor) -------------------


def _crc_table_8() -> NDArray[np.uint16]:
    crc = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        crc = np.where(crc & 1, (crc >> 1) ^ 0x8408, crc >> 1)
    return crc.astype(np.uint16)


def _crc_table_16(t8: NDArray[np.uint16]) -> NDArray[np.uint16]:
    # Two bytes at once: for a 16-bit register, feeding the little-endian word w is
    # x -> T16[x ^ w], where T16 runs 16 zero bits through the register.
    crc = np.arange(1 << 16, dtype=np.uint16)
    for _ in range(2):
        crc = (crc >> 8) ^ t8[crc & 0xFF]
    return crc


_T8: Final = _crc_table_8()
_T16: Final = _crc_table_16(_T8)


def x25_crc(data: bytes, crc: int = 0xFFFF) -> int:
    """MAVLink's checksum (CRC-16/MCRF4XX) of `data`, continuing from `crc`."""
    table = _T8
    for b in data:
        crc = (crc >> 8) ^ int(table[(crc ^ b) & 0xFF])
    return crc


def _at(arr: NDArray[np.uint8], dtype: str) -> NDArray[Any]:
    """A view of `arr` whose element i is the `dtype` value stored from byte i on."""
    dt = np.dtype(dtype)
    return np.ndarray((len(arr) - dt.itemsize + 1,), dtype=dt, buffer=arr, strides=(1,))


def _rows(arr: NDArray[np.uint8], starts: NDArray[np.int64], width: int) -> NDArray[np.uint8]:
    """Copies of arr[s : s + width] for each s in `starts`, as the rows of one array."""
    return _at(arr, f"V{width}")[starts].view(np.uint8).reshape(len(starts), width)


def _crc_rows(rows: NDArray[np.uint8]) -> NDArray[np.uint16]:
    """The checksum of every row of `rows` (n, m), m bytes each."""
    n, m = rows.shape
    crc = np.full(n, 0xFFFF, dtype=np.uint16)
    j = 0
    if m & 1:
        crc = (crc >> 8) ^ _T8[(crc ^ rows[:, 0]) & 0xFF]
        j = 1
    words = np.ascontiguousarray(rows[:, j:]).view("<u2")
    for col in np.ascontiguousarray(words.T):
        crc = _T16[crc ^ col]
    return crc


# --- decoded messages ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    raw: str  # wire field
    out: str  # output column, named with its unit
    div: float  # output = wire value / div, as float64 (0: the wire value, wire dtype)
    invalid: tuple[int, ...]  # wire values that mean "unknown": NaN in the output


@dataclass(frozen=True, slots=True)
class _Message:
    msgid: int
    name: str
    wire: np.dtype[np.void]  # packed, little-endian, with the extension fields
    fields: tuple[_Field, ...]


def _message(msgid: int, name: str, spec: str) -> _Message:
    """Parse lines of `wire_name dtype [out_name [/div] [!invalid,...]]  # comment`."""
    wire: list[tuple[str, str]] = []
    fields: list[_Field] = []
    for line in spec.strip().splitlines():
        raw, dtype, *rest = line.split("#")[0].split()
        wire.append((raw, dtype))
        div = next((float(r[1:]) for r in rest if r.startswith("/")), 0.0)
        bad = next((r[1:].split(",") for r in rest if r.startswith("!")), [])
        out = rest[0] if rest and rest[0][0] not in "/!" else raw
        fields.append(_Field(raw, out, div, tuple(int(b, 0) for b in bad)))
    return _Message(msgid, name, np.dtype(wire), tuple(fields))


# Wire order (base fields by type size, largest first, then the extensions in XML order),
# units and "invalid" values as common.xml / ardupilotmega.xml state them.
_MESSAGES: Final = (
    _message(33, "GLOBAL_POSITION_INT", """
        time_boot_ms <u4
        lat <i4 lat_deg /1e7
        lon <i4 lon_deg /1e7
        alt <i4 alt_m /1e3  # MSL
        relative_alt <i4 relative_alt_m /1e3  # above home
        vx <i2 vx_m_s /1e2  # north
        vy <i2 vy_m_s /1e2  # east
        vz <i2 vz_m_s /1e2  # down
        hdg <u2 hdg_deg /1e2 !0xFFFF
    """),
    _message(24, "GPS_RAW_INT", """
        time_usec <u8  # since 1970, or since boot (tell by its size)
        lat <i4 lat_deg /1e7
        lon <i4 lon_deg /1e7
        alt <i4 alt_m /1e3  # MSL
        eph <u2 hdop /1e2 !0xFFFF
        epv <u2 vdop /1e2 !0xFFFF
        vel <u2 vel_m_s /1e2 !0xFFFF
        cog <u2 cog_deg /1e2 !0xFFFF
        fix_type u1  # GPS_FIX_TYPE: 0-1 no fix, 2 2D, 3 3D, 4+ DGPS/RTK
        satellites_visible u1  # 255: unknown
        alt_ellipsoid <i4 alt_ellipsoid_m /1e3
        h_acc <u4 h_acc_m /1e3
        v_acc <u4 v_acc_m /1e3
        vel_acc <u4 vel_acc_m_s /1e3
        hdg_acc <u4 hdg_acc_deg /1e5
        yaw <u2 yaw_deg /1e2 !0,0xFFFF  # 0: no yaw from this GPS; north is 360
    """),
    _message(30, "ATTITUDE", """
        time_boot_ms <u4
        roll <f4 roll_rad
        pitch <f4 pitch_rad
        yaw <f4 yaw_rad
        rollspeed <f4 rollspeed_rad_s
        pitchspeed <f4 pitchspeed_rad_s
        yawspeed <f4 yawspeed_rad_s
    """),
    _message(265, "MOUNT_ORIENTATION", """
        time_boot_ms <u4
        roll <f4 roll_deg  # global frame
        pitch <f4 pitch_deg  # global frame
        yaw <f4 yaw_deg  # relative to the vehicle
        yaw_absolute <f4 yaw_absolute_deg  # from north; 0 when the sender left it out
    """),
    _message(285, "GIMBAL_DEVICE_ATTITUDE_STATUS", """
        time_boot_ms <u4
        q_w <f4  # q: w, x, y, z; the frame is in flags (see yaw_in_earth_frame)
        q_x <f4
        q_y <f4
        q_z <f4
        angular_velocity_x <f4 angular_velocity_x_rad_s
        angular_velocity_y <f4 angular_velocity_y_rad_s
        angular_velocity_z <f4 angular_velocity_z_rad_s
        failure_flags <u4
        flags <u2  # GIMBAL_DEVICE_FLAGS
        target_system u1
        target_component u1
        delta_yaw <f4 delta_yaw_rad
        delta_yaw_velocity <f4 delta_yaw_velocity_rad_s
        gimbal_device_id u1
    """),
    _message(158, "MOUNT_STATUS", """
        pointing_a <i4 pitch_deg /1e2
        pointing_b <i4 roll_deg /1e2
        pointing_c <i4 yaw_deg /1e2
        target_system u1
        target_component u1
        mount_mode u1  # MAV_MOUNT_MODE
    """),
    _message(259, "CAMERA_INFORMATION", """
        time_boot_ms <u4
        firmware_version <u4
        focal_length <f4 focal_length_mm  # NaN: unknown
        sensor_size_h <f4 sensor_size_h_mm
        sensor_size_v <f4 sensor_size_v_mm
        flags <u4  # CAMERA_CAP_FLAGS
        resolution_h <u2 resolution_h_px  # 0: unknown
        resolution_v <u2 resolution_v_px
        cam_definition_version <u2
        vendor_name S32
        model_name S32
        lens_id u1
        cam_definition_uri S140
        gimbal_device_id u1
        camera_device_id u1
    """),
    _message(180, "CAMERA_FEEDBACK", """
        time_usec <u8  # image time, since 1970
        lat <i4 lat_deg /1e7
        lng <i4 lon_deg /1e7
        alt_msl <f4 alt_msl_m
        alt_rel <f4 alt_rel_m
        roll <f4 roll_deg  # camera, earth frame
        pitch <f4 pitch_deg
        yaw <f4 yaw_deg  # true north, 0-360
        foc_len <f4 foc_len_mm
        img_idx <u2
        target_system u1
        cam_idx u1
        flags u1  # CAMERA_FEEDBACK_FLAGS
        completed_captures <u2
    """),
)  # fmt: skip

_BY_NAME: Final = {m.name: m for m in _MESSAGES}
_COMMON: Final = (("file_offset", "<i8"), ("t_us", "<i8"), ("sysid", "u1"), ("compid", "u1"))
_DERIVED: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {
    "GIMBAL_DEVICE_ATTITUDE_STATUS": (
        ("roll_deg", "<f8"),
        ("pitch_deg", "<f8"),
        ("yaw_deg", "<f8"),
        ("yaw_in_earth_frame", "?"),
    ),
}

#: The message types this module decodes, in a stable order.
TLOG_TYPES: Final = tuple(m.name for m in _MESSAGES)
#: The dtype of each decoded message type. Every one starts with `file_offset` (byte offset of the
#: record in the file), `t_us` (tlog timestamp, microseconds since 1970), `sysid`, `compid`.
MESSAGE_DTYPES: Final[Mapping[str, np.dtype[np.void]]] = {
    m.name: np.dtype(
        [
            *_COMMON,
            *((f.out, "<f8" if f.div else m.wire[f.raw]) for f in m.fields),
            *_DERIVED.get(m.name, ()),
        ]
    )
    for m in _MESSAGES
}


def _quaternion_euler_deg(
    w: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64], z: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Roll, pitch, yaw (degrees, Z-Y-X aerospace order) of w, x, y, z; NaN if not a rotation."""
    norm = np.sqrt(w * w + x * x + y * y + z * z)
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = ~(np.abs(norm - 1.0) < 0.1)  # also NaN; a zero quaternion means "not sent"
        w, x, y, z = w / norm, x / norm, y / norm, z / norm
        roll = np.degrees(np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y)))
        pitch = np.degrees(np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0)))
        yaw = np.degrees(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))
    for a in (roll, pitch, yaw):
        a[bad] = np.nan
    return roll, pitch, yaw


def _decode(msg: _Message, payload: NDArray[np.uint8], out: NDArray[np.void]) -> None:
    """Fill `out`'s message columns from `payload` (n, full wire length), zero-extended."""
    raw = payload.view(msg.wire)[:, 0]
    for f in msg.fields:
        col = raw[f.raw]
        if f.div:
            val = col / f.div
            for bad in f.invalid:
                val[col == bad] = np.nan
            out[f.out] = val
        else:
            out[f.out] = col
    if msg.name == "GIMBAL_DEVICE_ATTITUDE_STATUS":
        q = [raw[k].astype(np.float64) for k in ("q_w", "q_x", "q_y", "q_z")]
        out["roll_deg"], out["pitch_deg"], out["yaw_deg"] = _quaternion_euler_deg(*q)
        flags = raw["flags"]
        # common.xml: YAW_IN_EARTH_FRAME (64), else YAW_IN_VEHICLE_FRAME (32), else the
        # older rule: YAW_LOCK (16) means earth frame.
        earth = (flags & 64) != 0
        legacy = ((flags & 96) == 0) & ((flags & 16) != 0)
        out["yaw_in_earth_frame"] = earth | legacy


# --- counts and results -------------------------------------------------------------------


_K = TypeVar("_K", int, str)


def _merged(a: Mapping[_K, int], b: Mapping[_K, int]) -> dict[_K, int]:
    total = Counter(a)
    total.update(b)
    return dict(sorted(total.items()))


def _extreme(a: int | None, b: int | None, pick: Callable[[int, int], int]) -> int | None:
    return b if a is None else a if b is None else pick(a, b)


@dataclass(frozen=True, slots=True)
class TlogCounts:
    """What a stretch of a tlog held. Batches add up (`a + b`) to the whole file's counts.

    Attributes:
        frames: frames whose CRC checked, by message name.
        crc_errors: frames of a known id whose CRC failed (corrupt, or the sender used another
            definition of the message), by message name; not decoded.
        unknown_ids: frames whose id is not in the table (CRC not checkable), by id.
        bad_data_bytes: bytes that were no record, skipped while resynchronising.
        truncated_tail_bytes: an incomplete record cut off by the end of the file.
        bytes: every byte accounted for (frames + bad data + truncated tail).
        mavlink1, mavlink2, signed: records by protocol version; MAVLink 2 frames signed.
        t_min_us, t_max_us: earliest and latest tlog timestamp of a frame (None: no frame).
        problems: the first few damaged places, each with its byte offset.
    """

    frames: Mapping[str, int] = field(default_factory=dict)
    crc_errors: Mapping[str, int] = field(default_factory=dict)
    unknown_ids: Mapping[int, int] = field(default_factory=dict)
    bad_data_bytes: int = 0
    truncated_tail_bytes: int = 0
    bytes: int = 0
    mavlink1: int = 0
    mavlink2: int = 0
    signed: int = 0
    t_min_us: int | None = None
    t_max_us: int | None = None
    problems: tuple[Problem, ...] = ()

    def __add__(self, other: TlogCounts) -> TlogCounts:
        return TlogCounts(
            frames=_merged(self.frames, other.frames),
            crc_errors=_merged(self.crc_errors, other.crc_errors),
            unknown_ids=_merged(self.unknown_ids, other.unknown_ids),
            bad_data_bytes=self.bad_data_bytes + other.bad_data_bytes,
            truncated_tail_bytes=self.truncated_tail_bytes + other.truncated_tail_bytes,
            bytes=self.bytes + other.bytes,
            mavlink1=self.mavlink1 + other.mavlink1,
            mavlink2=self.mavlink2 + other.mavlink2,
            signed=self.signed + other.signed,
            t_min_us=_extreme(self.t_min_us, other.t_min_us, min),
            t_max_us=_extreme(self.t_max_us, other.t_max_us, max),
            problems=(self.problems + other.problems)[:MAX_PROBLEMS],
        )

    @property
    def total_frames(self) -> int:
        """Every frame found: checked, failed and unknown."""
        return (
            sum(self.frames.values())
            + sum(self.crc_errors.values())
            + sum(self.unknown_ids.values())
        )


@dataclass(frozen=True, slots=True)
class TlogBatch:
    """The frames decided in one chunk of a tlog.

    Attributes:
        messages: decoded messages by type name (only types asked for and present), as
            structured arrays of `MESSAGE_DTYPES[name]`, in file order.
        counts: what this stretch held.
    """

    messages: Mapping[str, NDArray[np.void]]
    counts: TlogCounts


@dataclass(frozen=True, slots=True)
class Tlog:
    """A whole tlog, decoded: `messages` by type name and the file's `counts`."""

    path: str
    messages: Mapping[str, NDArray[np.void]]
    counts: TlogCounts


# --- the parser ---------------------------------------------------------------------------

# Why a walk stopped: the next record is incomplete ("need") or is no record ("bad").
# What resynchronising found: a sound record ("found"), one to decide with more data
# ("wait"), or nothing more in the file ("end").
_Stop = Literal["need", "bad"]
_Sync = Literal["found", "wait", "end"]


class _Links:
    """Every complete record with a valid header in a buffer, wherever it starts, and
    pointers 2**k records ahead: a walk from any of them is a few numpy steps, not a loop."""

    def __init__(self, arr: NDArray[np.uint8], n: int) -> None:
        magic = arr[_STAMP:n]
        v2 = magic == _MAGIC_V2
        start = np.flatnonzero(v2 | (magic == _MAGIC_V1))
        v2 = v2[start]
        length = arr[start + 9].astype(np.int64)
        flags = arr[start + 10]
        end = start + np.where(v2, 20 + length + _SIGNATURE * (flags & 1), 16 + length)
        ok = (end <= n) & ~(v2 & (flags & 0xFE != 0))  # an unknown incompat flag: drop it
        self.start, self.end = start[ok], end[ok]
        count = len(self.start)
        nxt = np.searchsorted(self.start, self.end)  # the record that starts where one ends
        hit = nxt < count
        hit[hit] = self.start[nxt[hit]] == self.end[hit]
        self._jumps = [np.append(np.where(hit, nxt, count), count)]  # count: none

    def walk(self, pos: int) -> NDArray[np.intp]:
        """Indices of the records chained from the one at `pos` (empty: none starts there)."""
        count = len(self.start)
        i = int(np.searchsorted(self.start, pos))
        if i == count or self.start[i] != pos:
            return np.empty(0, dtype=np.intp)
        path = np.array([i], dtype=np.intp)
        for k in range(64):  # after round k the path holds its first 2**(k+1) records
            if k == len(self._jumps):
                self._jumps.append(self._jumps[-1][self._jumps[-1]])
            more = self._jumps[k][path]
            more = more[more < count]
            path = np.concatenate([path, more])
            if len(more) < len(path) - len(more):
                break
        return path


def _walk(buf: bytes, links: _Links, pos: int) -> tuple[NDArray[np.int64], int, _Stop]:
    """Record starts from `pos` while headers are valid; where and why it stopped."""
    path = links.walk(pos)
    starts = links.start[path]
    if len(path):
        pos = int(links.end[path[-1]])
    n = len(buf)
    if pos + 11 > n:  # magic, length and flags not all here (no record is shorter)
        return starts, pos, "need"
    magic = buf[pos + 8]
    if (magic == _MAGIC_V2 and not buf[pos + 10] & 0xFE) or magic == _MAGIC_V1:
        return starts, pos, "need"  # a valid header: the record goes past the buffer
    return starts, pos, "bad"


def _candidate(buf: bytes, q: int, final: bool) -> Literal["yes", "no", "more", "tail"]:
    """Whether a sound record starts at `q` (its magic byte is at q + 8)."""
    n = len(buf)
    if q + 11 > n:
        return "tail" if final else "more"
    length = buf[q + 9]
    if buf[q + 8] == _MAGIC_V2:
        flags = buf[q + 10]
        if flags & 0xFE:
            return "no"
        head, end = 10, q + 20 + length + (_SIGNATURE if flags else 0)
    else:
        head, end = 6, q + 16 + length
    if end > n:
        return "tail" if final else "more"
    msgid = buf[q + 15] | buf[q + 16] << 8 | buf[q + 17] << 16 if head == 10 else buf[q + 13]
    if msgid < len(_EXTRA) and _EXTRA[msgid] >= 0:
        crc_end = q + 8 + head + length
        crc = x25_crc(buf[q + 9 : crc_end] + bytes((int(_EXTRA[msgid]),)))
        return "yes" if crc == buf[crc_end] | buf[crc_end + 1] << 8 else "no"
    # An id we cannot check: believe it only if another record follows it.
    if end + 9 > n:
        return "yes" if final else "more"
    return "yes" if buf[end + 8] in (_MAGIC_V1, _MAGIC_V2) else "no"


@dataclass(frozen=True, slots=True)
class _Frames:
    """Header fields of the records starting at `start` (positions in the buffer)."""

    start: NDArray[np.int64]
    v2: NDArray[np.bool_]
    length: NDArray[np.int64]
    flags: NDArray[np.int64]
    msgid: NDArray[np.int64]
    payload: NDArray[np.int64]  # position of the payload's first byte
    stamp: NDArray[np.int64]  # tlog timestamp, microseconds since 1970

    @classmethod
    def parse(cls, arr: NDArray[np.uint8], start: NDArray[np.int64]) -> _Frames:
        v2 = arr[start + 8] == _MAGIC_V2
        seq = start + np.where(v2, 12, 10)  # then sysid, compid, msgid (1 or 3 bytes)
        msgid = _at(arr, "<u4")[seq + 3].astype(np.int64)  # 3 bytes in v2, 1 in v1
        return cls(
            start=start,
            v2=v2,
            length=arr[start + 9].astype(np.int64),
            flags=np.where(v2, arr[start + 10], 0).astype(np.int64),
            msgid=msgid & np.where(v2, 0xFFFFFF, 0xFF),
            payload=seq + np.where(v2, 6, 4),
            stamp=_at(arr, ">u8")[start].astype(np.int64),
        )

    def take(self, keep: NDArray[np.bool_] | NDArray[np.intp] | slice) -> _Frames:
        return _Frames(*(getattr(self, k)[keep] for k in _FRAME_FIELDS))

    @staticmethod
    def join(parts: list[_Frames]) -> _Frames:
        return _Frames(*(np.concatenate([getattr(p, k) for p in parts]) for k in _FRAME_FIELDS))


_FRAME_FIELDS: Final = ("start", "v2", "length", "flags", "msgid", "payload", "stamp")
# A frame whose CRC fails is believed (as a CRC error) only if its timestamp is within this
# of the next record's: the 8 bytes before a false magic byte are no time near the others.
_PLAUSIBLE_US: Final = 86_400_000_000


def _crc_ok(arr: NDArray[np.uint8], fr: _Frames) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(id known, CRC checks) for each frame; the second is True where the id is unknown."""
    extra = _EXTRA[np.minimum(fr.msgid, len(_EXTRA) - 1)]
    known = (fr.msgid < len(_EXTRA)) & (extra >= 0)
    ok = np.ones(len(known), dtype=bool)
    idx = np.flatnonzero(known)
    first = fr.start[idx] + 9  # the CRC covers the header after the magic and the payload
    covered = fr.payload[idx] + fr.length[idx] - first
    stored = _at(arr, "<u2")[first + covered]
    order = np.argsort(covered.astype(np.int16), kind="stable")  # a radix sort
    for group in np.split(order, np.flatnonzero(np.diff(covered[order])) + 1):
        if not len(group):
            continue
        m = int(covered[group[0]])
        rows = _rows(arr, first[group], m + 1)
        rows[:, m] = extra[idx[group]]  # in place of the CRC's first byte
        ok[idx[group]] = _crc_rows(rows) == stored[group]
    return known, ok


class _Parser:
    """Takes chunks; decides what it can, carries the rest (at most a record or two) over."""

    def __init__(self, types: Collection[str], where: str) -> None:
        types = (types,) if isinstance(types, str) else types
        unknown = sorted(set(types) - set(_BY_NAME))
        if unknown:
            raise InvalidInput(
                f"cannot decode MAVLink message type(s) {', '.join(unknown)}; "
                f"choose from {', '.join(TLOG_TYPES)}"
            )
        self._wanted = {_BY_NAME[t].msgid: _BY_NAME[t] for t in types}
        self._where = where
        self._carry = b""
        self._base = 0  # file offset of the carry's first byte
        self._resyncing = False  # the carry starts with a candidate not yet checked
        self._run: list[int] | None = None  # bad data not yet reported: file offset, size
        self._batch = _Batch(0, where)

    def feed(self, chunk: bytes, final: bool) -> TlogBatch:
        buf = self._carry + chunk
        arr = np.zeros(len(buf) + _PAD, dtype=np.uint8)  # padded: gathers stay inside
        arr[: len(buf)] = np.frombuffer(buf, dtype=np.uint8)
        self._batch = _Batch(self._base, self._where)
        keep = self._scan(buf, arr, final)
        self._carry = buf[keep:]
        self._base += keep
        return self._batch.result(arr, self._wanted)

    def _scan(self, buf: bytes, arr: NDArray[np.uint8], final: bool) -> int:
        """Decide as much of `buf` as can be; return where the undecided rest begins."""
        pos = 0
        links = _Links(arr, len(buf))
        if self._resyncing:
            pos, sync = self._resync(buf, 0, 0, final)
            if sync != "found":
                return pos
        while True:
            starts, stop, why = _walk(buf, links, pos)
            if len(starts):
                fr = _Frames.parse(arr, starts)
                known, ok = _crc_ok(arr, fr)
                cut, decided = self._confirm(fr, known & ~ok, arr, stop=stop, why=why, final=final)
                self._batch.add(arr, fr.take(slice(0, cut)), known[:cut], ok[:cut], self._wanted)
                if cut < len(starts):
                    if not decided:
                        return int(fr.start[cut])
                    why, stop = "bad", int(fr.start[cut])
            if why == "need":
                if final:
                    self._batch.tail(stop, len(buf) - stop)
                    return len(buf)
                return stop
            pos, sync = self._resync(buf, stop, stop + 1, final)
            if sync != "found":
                return pos

    @staticmethod
    def _confirm(
        fr: _Frames,
        bad: NDArray[np.bool_],
        arr: NDArray[np.uint8],
        *,
        stop: int,
        why: _Stop,
        final: bool,
    ) -> tuple[int, bool]:
        """How many records to take, and whether the first one not taken is decided (as
        garbage). A failed CRC is a CRC error only if a sound record, with a timestamp near
        its own, follows it (or the file ends where it does)."""
        n = len(arr) - _PAD
        for i in np.flatnonzero(bad).tolist():
            if i + 1 < len(bad):
                if bad[i + 1] or abs(int(fr.stamp[i]) - int(fr.stamp[i + 1])) > _PLAUSIBLE_US:
                    return i, True
            elif why == "bad":
                return i, True
            elif not final:
                return i, False
            elif stop + 9 <= n and arr[stop + 8] not in (_MAGIC_V1, _MAGIC_V2):
                return i, True
        return len(bad), True

    def _garbage(self, offset: int, size: int, *, close: bool) -> None:
        """Count bad data; report each run of it once, when it ends (in whatever chunk)."""
        b = self._batch
        if size > 0:
            b.sizes["bad"] += size
            b.sizes["all"] += size
            if self._run is None:
                self._run = [b.base + offset, 0]
            self._run[1] += size
        if close and self._run is not None:
            start, size = self._run
            b.problem(start, f"{size} bytes that are no MAVLink record skipped")
            self._run = None

    def _resync(self, buf: bytes, garbage: int, p: int, final: bool) -> tuple[int, _Sync]:
        """Find the first sound record at or after `p`; the bytes from `garbage` up to it
        are bad data. Returns its position, or where to carry on from."""
        n = len(buf)
        self._resyncing = True
        # Candidates are records whose magic byte is at q + 8; find() both magics, lazily.
        next_v2 = next_v1 = -2
        while True:
            lo = p + 8
            if next_v2 == -2 or -1 < next_v2 < lo:
                next_v2 = buf.find(b"\xfd", lo)
            if next_v1 == -2 or -1 < next_v1 < lo:
                next_v1 = buf.find(b"\xfe", lo)
            if next_v2 < 0 and next_v1 < 0:
                keep = n if final else max(p, n - 8)
                self._garbage(garbage, keep - garbage, close=final)
                return keep, "end" if final else "wait"
            q = min(m for m in (next_v2, next_v1) if m >= 0) - 8
            verdict = _candidate(buf, q, final)
            if verdict == "no":
                p = q + 1
                continue
            self._garbage(garbage, q - garbage, close=verdict != "more")
            if verdict == "yes":
                self._resyncing = False
                return q, "found"
            if verdict == "more":
                return q, "wait"
            self._batch.tail(q, n - q)
            return n, "end"


class _Batch:
    """Counts, and the frames to decode, gathered while scanning one buffer."""

    def __init__(self, base: int, where: str) -> None:
        self.base = base  # file offset of the buffer
        self.where = where
        self.frames: Counter[int] = Counter()
        self.crc_errors: Counter[int] = Counter()
        self.unknown: Counter[int] = Counter()
        self.sizes = {"bad": 0, "tail": 0, "all": 0, "v1": 0, "v2": 0, "signed": 0}
        self.t_min: int | None = None
        self.t_max: int | None = None
        self.problems: list[Problem] = []
        self.good: list[_Frames] = []

    def problem(self, file_offset: int, what: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            where = f"{self.where} byte {file_offset}"
            self.problems.append(Problem(where, what, "warning"))

    def tail(self, offset: int, size: int) -> None:
        if size > 0:
            self.sizes["tail"] += size
            self.sizes["all"] += size
            what = f"the file ends inside a record; its last {size} bytes ignored"
            self.problem(self.base + offset, what)

    def add(
        self,
        arr: NDArray[np.uint8],
        fr: _Frames,
        known: NDArray[np.bool_],
        ok: NDArray[np.bool_],
        wanted: Mapping[int, _Message],
    ) -> None:
        if not len(fr.start):
            return
        ends = fr.payload + fr.length + 2 + (fr.flags & 1) * _SIGNATURE
        signed = int((fr.flags & 1).sum())
        nv2 = int(fr.v2.sum())
        for key, value in (
            ("all", int((ends - fr.start).sum())),
            ("v1", len(fr.start) - nv2),
            ("v2", nv2),
            ("signed", signed),
        ):
            self.sizes[key] += value
        stamps = fr.stamp
        self.t_min = _extreme(self.t_min, int(stamps.min()), min)
        self.t_max = _extreme(self.t_max, int(stamps.max()), max)
        good = known & ok
        self.frames.update(_count(fr.msgid[good]))
        self.unknown.update(_count(fr.msgid[~known]))
        failed = np.flatnonzero(known & ~ok)
        self.crc_errors.update(_count(fr.msgid[failed]))
        for i in failed[:MAX_PROBLEMS].tolist():
            name = MESSAGE_NAMES[int(fr.msgid[i])]
            self.problem(self.base + int(fr.start[i]), f"{name} frame fails its CRC; not decoded")
        keep = np.flatnonzero(good & np.isin(fr.msgid, list(wanted)))
        if len(keep):
            self.good.append(fr.take(keep))

    def result(self, arr: NDArray[np.uint8], wanted: Mapping[int, _Message]) -> TlogBatch:
        messages: dict[str, NDArray[np.void]] = {}
        if self.good:
            fr = _Frames.join(self.good)
            for msgid, msg in wanted.items():
                sel = np.flatnonzero(fr.msgid == msgid)
                if len(sel):
                    messages[msg.name] = _assemble(arr, fr.take(sel), msg, self.base)
        s = self.sizes
        counts = TlogCounts(
            frames={MESSAGE_NAMES[k]: v for k, v in sorted(self.frames.items())},
            crc_errors={MESSAGE_NAMES[k]: v for k, v in sorted(self.crc_errors.items())},
            unknown_ids=dict(sorted(self.unknown.items())),
            bad_data_bytes=s["bad"],
            truncated_tail_bytes=s["tail"],
            bytes=s["all"],
            mavlink1=s["v1"],
            mavlink2=s["v2"],
            signed=s["signed"],
            t_min_us=self.t_min,
            t_max_us=self.t_max,
            problems=tuple(self.problems),
        )
        return TlogBatch(messages, counts)


def _count(ids: NDArray[np.int64]) -> dict[int, int]:
    values, counts = np.unique(ids, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


def _assemble(arr: NDArray[np.uint8], fr: _Frames, msg: _Message, base: int) -> NDArray[np.void]:
    """Decode the frames `fr`, all of message `msg`, into a `MESSAGE_DTYPES` array."""
    size = msg.wire.itemsize
    payload = _rows(arr, fr.payload, size)
    payload[np.arange(size)[None, :] >= fr.length[:, None]] = 0  # zero-extend (v2 trims)
    out = np.empty(len(fr.start), dtype=MESSAGE_DTYPES[msg.name])
    out["file_offset"] = fr.start + base
    out["t_us"] = fr.stamp
    seq = fr.start + np.where(fr.v2, 12, 10)
    out["sysid"] = arr[seq + 1]
    out["compid"] = arr[seq + 2]
    _decode(msg, payload, out)
    return out


# --- public entry points ------------------------------------------------------------------


@contextmanager
def _opened(source: Source) -> Iterator[tuple[IO[bytes], str]]:
    if isinstance(source, str | os.PathLike):
        where = os.fspath(source)
        try:
            f = open(where, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InvalidInput(f"{where}: cannot read ({exc.strerror}); check the path") from exc
        with f:
            yield f, where
    else:
        yield source, str(getattr(source, "name", "<stream>"))


def _chunks(f: IO[bytes], where: str, chunk_bytes: int) -> Iterator[bytes]:
    if chunk_bytes < 1:
        raise InvalidInput(f"chunk_bytes must be at least 1, not {chunk_bytes}")
    while True:
        try:
            chunk = f.read(chunk_bytes)
        except OSError as exc:
            raise InvalidInput(f"{where}: cannot read ({exc.strerror})") from exc
        if not chunk:
            return
        yield chunk


def read_tlog(
    source: Source,
    *,
    types: Collection[str] = TLOG_TYPES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Iterator[TlogBatch]:
    """Stream a tlog: one batch per chunk read, with the messages of `types` decoded.

    Damage (CRC failures, garbage, a cut-off end) is counted in each batch's `counts`, never
    raised; memory stays within a few chunks whatever the file's size.

    Args:
        source: a path, or a binary file object open for reading.
        types: message type names to decode (see `TLOG_TYPES`); the others are only counted.
        chunk_bytes: bytes read at a time.

    Raises:
        InvalidInput: the file cannot be read, or `types` names a type not decoded here.

    Example:
        >>> for batch in read_tlog("flight.tlog", types=["ATTITUDE"]):
        ...     print(batch.messages.get("ATTITUDE", [])[:1])  # doctest: +SKIP
    """
    with _opened(source) as (f, where):
        parser = _Parser(types, where)
        for chunk in _chunks(f, where, chunk_bytes):
            batch = parser.feed(chunk, final=False)
            if batch.counts.bytes or batch.counts.problems:
                yield batch
        batch = parser.feed(b"", final=True)
        if batch.counts.bytes or batch.counts.problems:
            yield batch


def load_tlog(
    source: Source,
    *,
    types: Collection[str] = TLOG_TYPES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Tlog:
    """Read a whole tlog: every message of `types` as one structured array per type.

    Example:
        >>> log = load_tlog("flight.tlog")  # doctest: +SKIP
        >>> log.messages["GLOBAL_POSITION_INT"]["lat_deg"], log.counts.crc_errors
    """
    parts: dict[str, list[NDArray[np.void]]] = {}
    counts = TlogCounts()
    with _opened(source) as (f, where):
        for batch in read_tlog(f, types=types, chunk_bytes=chunk_bytes):
            counts = counts + batch.counts
            for name, arr in batch.messages.items():
                parts.setdefault(name, []).append(arr)
    messages = {name: np.concatenate(parts[name]) for name in TLOG_TYPES if name in parts}
    return Tlog(where, messages, counts)


def looks_like_tlog(head: bytes) -> bool:
    """Whether `head`, the first bytes of a file (64 KiB is plenty), is the start of a tlog:
    frames whose CRC checks, from byte 0 or after a little garbage."""
    counts = _Parser((), "").feed(head, final=True).counts
    checked = sum(counts.frames.values())
    if counts.bad_data_bytes == 0:
        return checked >= 1
    return checked >= 3 and counts.bad_data_bytes <= len(head) // 2

"""MAVLink message tables: ids, names, CRC_EXTRA values and payload layouts.

Source: the MAVLink XML definitions (common.xml with standard.xml and minimal.xml, and the
ardupilotmega.xml dialect that includes them, with uAvionix, icarous, cubepilot, csAirLink
and loweheiser) as pymavlink 2.4.50 generates them (`pymavlink.dialects.v20.ardupilotmega`).
Tables (and the few lines that turn them into dtypes), kept apart from the reader, `mavlink.py`.

To check: tests/ingest/test_mavlink_spec.py compares every id, name and CRC_EXTRA, and each
payload layout below, with the installed pymavlink. To regenerate `_TABLE` after a pymavlink
upgrade (the test then says which layouts need a look)::

    python -c "import textwrap; from pymavlink.dialects.v20 import ardupilotmega as d; \
    print(textwrap.fill(' '.join(f'{i}:{t.msgname}:{t.crc_extra}' \
    for i, t in sorted(d.mavlink_map.items())), 88))"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

__all__ = [
    "BY_NAME",
    "CRC_EXTRA",
    "MESSAGES",
    "MESSAGE_DTYPES",
    "MESSAGE_NAMES",
    "TLOG_TYPES",
    "Field",
    "Message",
]

# id:NAME:CRC_EXTRA for every message of ardupilotmega.xml and what it includes. CRC_EXTRA is
# a hash of the message's name and base fields: a sender with another definition of the
# message fails the CRC, which is why unknown ids are counted, not checked.
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
#: CRC_EXTRA by message id; -1: unknown (every id is below 2**16).
CRC_EXTRA: Final = np.full(1 << 16, -1, dtype=np.int16)
for _tok in _TABLE.split():
    _i, _, _x = _tok.split(":")
    CRC_EXTRA[int(_i)] = int(_x)


@dataclass(frozen=True, slots=True)
class Field:
    """One payload field: where it is on the wire and the column it becomes."""

    raw: str  # wire field
    out: str  # output column, named with its unit
    div: float  # output = wire value / div, as float64 (0: the wire value, wire dtype)
    invalid: tuple[int, ...]  # wire values that mean "unknown": NaN in the output


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded message type: its id, name, packed wire layout and output fields."""

    msgid: int
    name: str
    wire: np.dtype[np.void]  # packed, little-endian, with the extension fields
    fields: tuple[Field, ...]


def _message(msgid: int, name: str, spec: str) -> Message:
    """Parse lines of `wire_name dtype [out_name [/div] [!invalid,...]]  # comment`."""
    wire: list[tuple[str, str]] = []
    fields: list[Field] = []
    for line in spec.strip().splitlines():
        raw, dtype, *rest = line.split("#")[0].split()
        wire.append((raw, dtype))
        div = next((float(r[1:]) for r in rest if r.startswith("/")), 0.0)
        bad = next((r[1:].split(",") for r in rest if r.startswith("!")), [])
        out = rest[0] if rest and rest[0][0] not in "/!" else raw
        fields.append(Field(raw, out, div, tuple(int(b, 0) for b in bad)))
    return Message(msgid, name, np.dtype(wire), tuple(fields))


# Wire order (base fields by type size, largest first, then the extensions in XML order),
# units and "invalid" values as common.xml / ardupilotmega.xml state them.
MESSAGES: Final = (
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

#: The decoded message types by name.
BY_NAME: Final = {m.name: m for m in MESSAGES}
_COMMON: Final = (("file_offset", "<i8"), ("t_us", "<i8"), ("sysid", "u1"), ("compid", "u1"))
_DERIVED: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {
    "GIMBAL_DEVICE_ATTITUDE_STATUS": (
        ("roll_deg", "<f8"),
        ("pitch_deg", "<f8"),
        ("yaw_deg", "<f8"),
        ("yaw_in_earth_frame", "?"),
    ),
}

#: The message types `mavlink.py` decodes, in a stable order.
TLOG_TYPES: Final = tuple(m.name for m in MESSAGES)
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
    for m in MESSAGES
}

"""The lab's NTP server: lab time over UDP, with injected offsets, outages and kiss-o'-death
(SPEC S1, L2; DESIGN "Time").

S1: viewers and the body-worn system must agree on the time within a few seconds, and both should
use the same NTP server. The appliance runs that server; it serves *lab* time (real time plus the
time-travel offset), so the controller and the cameras, which sync with ``ntplib``, follow time
travel. L2: the lab injects faults into it: an extra ``offset`` (this server lies by that many
seconds), an ``outage`` (no answer at all) and ``kiss-o-death`` (stratum 0 with a kiss code, which
tells a client to stop using the server).

``NtpResponder`` is the sans-I/O core: ``handle_datagram(data, received_at)`` turns one client
packet into the response bytes (or None). The UDP adapter that serves it is in the appliance
(``appliance/lab/ntp_server.py``).

Decisions:

* Packets follow RFC 5905 (48-byte header; extension fields and MACs of the request are
  ignored); timestamps after 2036 are written in NTP era 1, as time travel may go there. Clients of NTP versions 1–4 get an answer in their own version, because ``ntplib``
  sends version 2 by default and the lab's own parties use it.
* Served as stratum 1 with reference id ``LAB\\0`` (a stratum-1 reference id is a 4-character
  source name); precision 2⁻²⁰ s; root delay 0; root dispersion 1 ms; the reference timestamp is
  the start of the current 64-s poll interval.
* ``originate`` is the client's transmit timestamp copied bit for bit; ``receive`` is lab time when
  the datagram arrived plus the injected offset; ``transmit`` is lab time when the answer is built
  plus the offset.
* Kiss-o'-death: leap indicator 3 (unsynchronised), stratum 0, reference id = the kiss code
  (``RATE`` by default, or ``DENY``/``RSTR``); receive and transmit timestamps echo the client's
  own transmit time, so that a client that ignores the kiss computes no offset from it.
* Requests that are not client-mode (mode 3) or shorter than 48 bytes are ignored.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from bwlab.clock import Clock

NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01
MODES = ("serve", "outage", "kiss-o-death")
KISS_CODES = ("RATE", "DENY", "RSTR")
_HEADER = struct.Struct("!BBbbII4sQQQQ")  # 48 bytes
MODE_CLIENT = 3
MODE_SERVER = 4


def time_to_ntp(ts: float) -> int:
    """POSIX seconds as a 64-bit NTP timestamp (32.32 fixed point, era 0)."""
    value = ts + NTP_EPOCH_OFFSET
    seconds = int(value)
    fraction = int((value - seconds) * 2**32)
    if fraction >= 2**32:  # rounding at the very top of a second
        seconds, fraction = seconds + 1, 0
    return ((seconds & 0xFFFFFFFF) << 32) | fraction


def ntp_to_time(value: int) -> float:
    """A 64-bit NTP timestamp as POSIX seconds (1968–2104: era 1 after 2036 is understood)."""
    seconds = value >> 32
    if seconds < 0x80000000:  # era 1 (from 2036-02-07); lab time travel may get there
        seconds += 2**32
    return seconds - NTP_EPOCH_OFFSET + (value & 0xFFFFFFFF) / 2**32


@dataclass(frozen=True)
class NtpPacket:
    """The 48-byte NTP header; timestamps are the raw 64-bit NTP values."""

    leap: int
    version: int
    mode: int
    stratum: int
    poll: int
    precision: int
    root_delay: int
    root_dispersion: int
    ref_id: bytes
    reference: int
    originate: int
    receive: int
    transmit: int

    @classmethod
    def from_bytes(cls, data: bytes) -> NtpPacket:
        if len(data) < _HEADER.size:
            raise ValueError(f"an NTP packet has at least {_HEADER.size} bytes, got {len(data)}")
        first, stratum, poll, precision, delay, dispersion, ref_id, ref, org, rec, xmt = _HEADER.unpack_from(data)
        return cls(
            first >> 6,
            (first >> 3) & 0x7,
            first & 0x7,
            stratum,
            poll,
            precision,
            delay,
            dispersion,
            ref_id,
            ref,
            org,
            rec,
            xmt,
        )

    def to_bytes(self) -> bytes:
        first = (self.leap << 6) | (self.version << 3) | self.mode
        return _HEADER.pack(
            first,
            self.stratum,
            self.poll,
            self.precision,
            self.root_delay,
            self.root_dispersion,
            self.ref_id,
            self.reference,
            self.originate,
            self.receive,
            self.transmit,
        )


def client_request(transmit_time: float, version: int = 4) -> bytes:
    """A minimal client-mode request (what ``ntplib`` sends), for tests and the lab's own probes."""
    return NtpPacket(
        0, version, MODE_CLIENT, 0, 6, -20, 0, 0, b"\0\0\0\0", 0, 0, 0, time_to_ntp(transmit_time)
    ).to_bytes()


class NtpResponder:
    """Answers NTP client packets with lab time (S1, L2); no sockets, the clock is injected.

    ``offset`` (seconds) is added to every timestamp the server gives out; ``mode`` is ``serve``,
    ``outage`` or ``kiss-o-death`` (with ``kiss_code``). All three can be changed at run time.
    """

    def __init__(
        self,
        clock: Clock,
        offset: float = 0.0,
        stratum: int = 1,
        mode: str = "serve",
        *,
        kiss_code: str = "RATE",
        ref_id: bytes = b"LAB\0",
    ):
        if not 1 <= stratum <= 15:
            raise ValueError(f"stratum: expected 1 to 15 for a serving server, got {stratum!r}")
        if len(ref_id) != 4:
            raise ValueError(f"ref_id: expected 4 bytes, got {ref_id!r}")
        self.clock = clock
        self.offset = float(offset)
        self.stratum = stratum
        self.ref_id = ref_id
        self.mode = "serve"
        self.kiss_code = "RATE"
        self.set_mode(mode, kiss_code)
        self.requests = 0
        self.answered = 0
        self.ignored = 0

    def set_mode(self, mode: str, kiss_code: str | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
        if kiss_code is not None:
            if kiss_code not in KISS_CODES:
                raise ValueError(f"kiss_code: expected one of {', '.join(KISS_CODES)}, got {kiss_code!r}")
            self.kiss_code = kiss_code
        self.mode = mode

    def set_offset(self, offset: float) -> None:
        """Make the server lie by ``offset`` seconds (L2 "NTP offsets")."""
        self.offset = float(offset)

    def served_time(self, lab_time: float) -> float:
        return lab_time + self.offset

    def handle_datagram(self, data: bytes, received_at: float) -> bytes | None:
        """The response to one datagram that arrived at lab time ``received_at``, or None."""
        self.requests += 1
        try:
            request = NtpPacket.from_bytes(data)
        except ValueError:
            self.ignored += 1
            return None
        if request.mode != MODE_CLIENT or not 1 <= request.version <= 4:
            self.ignored += 1
            return None
        if self.mode == "outage":
            self.ignored += 1
            return None
        self.answered += 1
        if self.mode == "kiss-o-death":
            return NtpPacket(
                leap=3,
                version=request.version,
                mode=MODE_SERVER,
                stratum=0,
                poll=request.poll,
                precision=-20,
                root_delay=0,
                root_dispersion=0,
                ref_id=self.kiss_code.encode("ascii"),
                reference=0,
                originate=request.transmit,
                receive=request.transmit,
                transmit=request.transmit,
            ).to_bytes()
        receive = self.served_time(received_at)
        transmit = self.served_time(self.clock.now())
        return NtpPacket(
            leap=0,
            version=request.version,
            mode=MODE_SERVER,
            stratum=self.stratum,
            poll=max(request.poll, 4) if request.poll else 6,
            precision=-20,
            root_delay=0,
            root_dispersion=66,  # 66 / 65536 s ≈ 1 ms
            ref_id=self.ref_id,
            reference=time_to_ntp(receive - receive % 64),
            originate=request.transmit,
            receive=time_to_ntp(receive),
            transmit=time_to_ntp(transmit),
        ).to_bytes()

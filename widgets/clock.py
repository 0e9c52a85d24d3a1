"""The station's clock: one time zone for every time on screen, named where times are shown.

Records carry their own timestamps (RFC 3339, usually UTC); the wall clock is the machine's. The
screens show both in the station's time zone (`[console] timezone`, else the machine's), and
say so once ("times: CET"). On the built-in simulator the records' clock runs faster than the
wall clock, so times taken from records are labelled "simulated". Plain values, used on the UI
thread.
"""

from __future__ import annotations

import time
import zoneinfo
from datetime import UTC, datetime, tzinfo

from console.config import Config


class StationClock:
    """Formats record times and wall-clock times in the station's time zone."""

    def __init__(self, timezone: str = "", simulated: bool = False) -> None:
        self.zone: tzinfo = (
            zoneinfo.ZoneInfo(timezone) if timezone else datetime.now().astimezone().tzinfo or UTC
        )
        self.simulated = simulated

    @classmethod
    def for_config(cls, config: Config) -> StationClock:
        simulated = bool(config.source) and all(s.kind == "simulator" for s in config.source)
        return cls(config.console.timezone, simulated)

    @property
    def zone_name(self) -> str:
        return datetime.now(self.zone).tzname() or str(self.zone)

    @property
    def record_label(self) -> str:
        """What the times taken from records are: 'simulated time, CET' or 'CET'."""
        return f"simulated time, {self.zone_name}" if self.simulated else self.zone_name

    def utc_offset_seconds(self) -> float:
        offset = datetime.now(self.zone).utcoffset()
        return offset.total_seconds() if offset is not None else 0.0

    def parse(self, iso_text: str | None) -> datetime | None:
        if not iso_text:
            return None
        try:
            moment = datetime.fromisoformat(iso_text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone)

    def record_time(self, iso_text: str | None, with_date: bool = False) -> str:
        """'21:00:03' (or '03-02 21:00') in the station's zone; the text as given if unreadable."""
        moment = self.parse(iso_text)
        if moment is None:
            return iso_text or ""
        return moment.strftime("%m-%d %H:%M" if with_date else "%H:%M:%S")

    def hour_minute(self, iso_text: str | None) -> str:
        moment = self.parse(iso_text)
        return moment.strftime("%H:%M") if moment is not None else ""

    def wall(self, at: float | None = None) -> str:
        """The wall clock (or `at`, epoch seconds) as 'HH:MM:SS' in the station's zone."""
        moment = datetime.fromtimestamp(time.time() if at is None else at, self.zone)
        return moment.strftime("%H:%M:%S")

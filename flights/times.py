"""A moment as a traveller reads it: in an airport's own time zone, with the place named ("Mon 14 Dec 2026,
09:40 (Amsterdam time)"), or in UTC, said so, when the flight's airport is not known. Day and month names
and the formats go through translation (Django's date formats)."""

import datetime as dt
import zoneinfo

from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from flights.models import Airport
from flights.place_names import place_name


def airport_zone(airport: Airport | None) -> zoneinfo.ZoneInfo | None:
    if airport is None:
        return None
    try:
        return zoneinfo.ZoneInfo(airport.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # validated in the admin; a row set by hand may not be
        return None


def airport_time(moment: dt.datetime | None, airport: Airport | None, *, clock_only: bool = False) -> str:
    """`moment` in `airport`'s time zone with the city named; a date and a time, or the time of day alone."""
    if moment is None:
        return ""
    zone = airport_zone(airport)
    if clock_only:
        layout = pgettext("time of day, Django date format", "H:i:s")
    else:
        layout = pgettext("a flight's date and time, Django date format", "D j M Y, H:i")
    when = dateformat.format(moment.astimezone(zone or dt.UTC), layout)
    if zone is None or airport is None:
        return _("%(when)s UTC") % {"when": when}
    return _("%(when)s (%(place)s time)") % {"when": when, "place": place_name(airport.city)}

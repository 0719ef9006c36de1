"""{{ moment|airport_time:airport }} and {{ moment|airport_clock:airport }}: flights.times for templates;
{{ flight|route }} (a flight as flight_summary lists it): its cities in the reader's language."""

import datetime as dt
from typing import Any

from django import template

from flights import place_names, times
from flights.models import Airport

register = template.Library()


@register.filter
def airport_time(moment: dt.datetime | None, airport: Airport | None) -> str:
    return times.airport_time(moment, airport)


@register.filter
def airport_clock(moment: dt.datetime | None, airport: Airport | None) -> str:
    return times.airport_time(moment, airport, clock_only=True)


@register.filter
def route(flight: dict[str, Any]) -> str:
    return place_names.route_words(flight["origin"], flight["destination"])

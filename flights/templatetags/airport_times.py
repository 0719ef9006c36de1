"""{{ moment|airport_time:airport }} and {{ moment|airport_clock:airport }}: flights.times for templates;
{{ city|place }}: flights.place_names."""

import datetime as dt

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
def place(city: str) -> str:
    return place_names.place_name(city)

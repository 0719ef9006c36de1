"""Cities in the reader's language. Flights and airports name a city as it was typed in the admin (in
English); a page, the receipt and an email say it through the translations when the words file has it
("Lisbon" is "Lisboa" on a Portuguese page), else as typed. The API and the admin keep the typed name."""

from django.utils.translation import pgettext, pgettext_lazy

# The demo's cities (seed_demo), for make messages to collect; a city added in the admin is shown as typed
# until its name is added here and translated.
CITIES = [
    pgettext_lazy("city", "Amsterdam"),
    pgettext_lazy("city", "Athens"),
    pgettext_lazy("city", "Berlin"),
    pgettext_lazy("city", "Lisbon"),
    pgettext_lazy("city", "Oslo"),
    pgettext_lazy("city", "Tel Aviv"),
]


def place_name(city: str) -> str:
    return pgettext("city", city) if city else city


def route_words(origin: str, destination: str) -> str:
    return f"{place_name(origin)} → {place_name(destination)}"

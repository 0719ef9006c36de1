"""Static files as production serves them: hashed names, compressed, cached for good."""

import re

import pytest


@pytest.mark.django_db
def test_pages_name_hashed_static_files_served_compressed_and_cached_for_good(client, flight):
    page = client.get("/").content.decode()
    css = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
    assert css, "the page should name the stylesheet by its hashed name"
    response = client.get(css.group(1), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"] and "max-age=315360000" in response["Cache-Control"]

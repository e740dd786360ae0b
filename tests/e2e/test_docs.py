"""The API docs as a client developer opens them: everything they load comes from this host."""

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import requests_made
from tests.e2e.test_browser import TIMEOUT, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    "path,rendered",
    [
        # ReDoc draws the operations' menu once it has read the schema.
        ("/api/v1/redoc/", "li[data-item-id]"),
        ("/api/v1/docs/", ".opblock"),
    ],
    ids=["redoc", "swagger-ui"],
)
def test_docs_load_nothing_from_other_hosts(browser, live_server, path, rendered):
    requests_made(browser)  # forget what earlier pages asked for
    browser.get(live_server.url + path)
    wait_for(browser, rendered)
    # Fonts and images are fetched once the page is drawn; give them a moment to start.
    WebDriverWait(browser, TIMEOUT).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )

    urls = requests_made(browser)

    assert any(url.startswith(live_server.url + path) for url in urls), urls
    elsewhere = [
        url for url in urls if not url.startswith((live_server.url, "data:", "blob:", "about:"))
    ]
    assert elsewhere == []

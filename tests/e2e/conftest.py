"""Browser tests: headless Chromium driven by Selenium against pytest-django's live server.

They need the system's Chromium and chromedriver (Debian: `apt-get install chromium
chromium-driver`); without them every test marked `browser` is skipped, and the run says so.
"""

import json
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MISSING = "Chromium/chromedriver not found: skipped browser tests"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


def browser_missing() -> bool:
    return not (CHROMIUM.exists() and CHROMEDRIVER.exists())


def pytest_collection_modifyitems(config, items):
    if browser_missing():
        skip = pytest.mark.skip(reason=MISSING)
        for item in items:
            if item.get_closest_marker("browser"):
                item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if MISSING in str(report.longrepr)
    ]
    if skipped:
        terminalreporter.write_line(
            f"{MISSING} ({len(skipped)}): install chromium and chromium-driver to run them."
        )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item, so a fixture can tell that its test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium(live_server):
    """One headless Chromium for the session. It quits before the live server stops, so
    no request of its is still being served then."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-gpu",
        "--no-first-run",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    # Network events, so a test can see every request a page makes (requests_made).
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium, live_server, request):
    """The browser, signed out, with a screenshot of the page saved if the test fails."""
    chromium.delete_all_cookies()
    yield chromium
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = request.node.name.replace("/", "_")
        chromium.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        (ARTIFACTS / f"{name}.html").write_text(chromium.page_source)
    # Forget what the pages stored (Swagger UI keeps the token in local storage).
    chromium.get(live_server.url + "/health")
    chromium.execute_script("window.localStorage.clear(); window.sessionStorage.clear();")


def requests_made(driver) -> list[str]:
    """The URLs the browser sent requests to since this was last called (Chromium's network
    log); one that the page's Content-Security-Policy blocked never left and is not counted."""
    sent, blocked = {}, set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            sent[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason"):
            blocked.add(params["requestId"])
    return [url for request_id, url in sent.items() if request_id not in blocked]

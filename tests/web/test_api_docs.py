"""/api/v1/docs in a real browser that may reach the app and nothing else: an air-gapped site
gets the whole page, Swagger UI's script and styles included, from the app itself."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from tests.web.test_browser import CHROMIUM, browser  # noqa: F401 - browser is a fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]


def test_the_api_docs_render_every_operation_with_no_other_host(browser, app):  # noqa: F811
    document = httpx.get(f"{app.url}api/v1/openapi.json").json()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    own, served, refused = urlsplit(app.url).netloc, [], []

    def this_host_only(route):
        if urlsplit(route.request.url).netloc == own:
            served.append(urlsplit(route.request.url).path)
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page = browser.new_page(locale="en-US")
    page.route("**/*", this_host_only)
    page.goto(f"{app.url}api/v1/docs", wait_until="networkidle")
    assert refused == []  # nothing was even asked of another host
    blocks = page.locator(".opblock")
    blocks.nth(len(operations) - 1).wait_for(timeout=30_000)  # drawn from the OpenAPI document
    shown = {
        (
            block.locator(".opblock-summary-method").inner_text().upper(),
            block.locator(".opblock-summary-path").get_attribute("data-path"),
        )
        for block in blocks.all()
    }
    assert shown == operations
    assert page.locator(".info .title").inner_text().startswith("HeyGem")
    assert refused == []
    assert {"/api/v1/docs-assets/swagger-ui-bundle.js", "/api/v1/docs-assets/swagger-ui.css"} <= set(served)
    page.close()

"""Opens an HTML file in headless Chromium (Debian's, driven by Playwright) and reports what a person
would notice: console and page errors, requests that left the file, and the marks each chart drew."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import ConsoleMessage, Request, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Per chart element: the items Vega drew for its data marks (bars, points, lines), not axes or legends.
_MARKS_PER_CHART = """() => Object.fromEntries([...document.querySelectorAll("div.chart")].map(
  (chart) => [chart.id, chart.querySelectorAll("svg g.role-mark > path, svg g.role-mark > line, "
                                               + "svg g.role-mark > rect, svg g.role-mark > circle").length]))"""


@dataclass(frozen=True)
class Rendered:
    console_errors: list[str]
    page_errors: list[str]
    # Every request for something other than the file itself: an offline report makes none.
    outside_requests: list[str]
    marks: dict[str, int]
    charts_drawn: str | None
    screenshot: Path


async def render(html: Path, screenshot: Path) -> Rendered:
    console_errors: list[str] = []
    page_errors: list[str] = []
    outside: list[str] = []
    url = html.resolve().as_uri()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    def on_request(request: Request) -> None:
        if request.url != url and not request.url.startswith("data:"):
            outside.append(request.url)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", on_console)
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("request", on_request)
            await page.route(lambda target: target != url, lambda route: route.abort())
            await page.goto(url, wait_until="load")
            # The page sets data-charts-drawn once every vegaEmbed has resolved (an error leaves it unset).
            await page.wait_for_function("document.body.dataset.chartsDrawn !== undefined || "
                                         "window.__chartsFailed === true", timeout=15_000)
            marks = await page.evaluate(_MARKS_PER_CHART)
            drawn = await page.evaluate("document.body.dataset.chartsDrawn ?? null")
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(screenshot), full_page=True)
        finally:
            await browser.close()
    return Rendered(console_errors, page_errors, outside, marks, drawn, screenshot)

"""Browser fixtures for the UI's tests: Debian's Chromium through Playwright, pages that
may reach nothing but chatgate, and signing in as a user does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.gateway.conftest import fake  # a fake upstream for chats and usage

__all__ = ["fake"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def open_page(browser: Browser, base_url: str) -> tuple[Page, list[str]]:
    """A page whose requests to anything but chatgate are refused and recorded."""
    page = await browser.new_page(base_url=base_url, viewport={"width": 1280, "height": 800})
    elsewhere: list[str] = []

    async def only_chatgate(route: Any) -> None:
        if route.request.url.startswith(base_url):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_chatgate)
    return page, elsewhere


async def sign_in(page: Page, token: str) -> None:
    await page.goto("/ui/sign-in")
    await page.get_by_label("Your chatgate token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/ui/models")


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"


async def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot at ``test-artifacts/ui/<name>.png``, to look at (not compared)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

"""The web UI in a real browser (Chromium through Playwright, SPEC §12): sign in with a
token, see provider configs with their badges and key policy in words, models with their
availability for a chosen member; names render as text; nothing but chatgate's origin."""

from __future__ import annotations

from typing import get_args

from playwright.async_api import Browser

from chatgate.resolve import UnavailableReason
from chatgate.ui.wording import UNAVAILABLE_SENTENCES
from tests.support.helpers import Env, add_model, add_provider
from tests.ui.conftest import open_page, screenshot, sign_in


async def test_an_admin_signs_in_and_sees_providers_and_models(
    env: Env, live: str, browser: Browser
) -> None:
    hostile = '<img src=x onerror="window.pwned=1">Acme'
    provider = await add_provider(
        env,
        family="openai",
        name="acme",
        display_name=hostile,
        base_url="http://127.0.0.1:9/v1",
        api_key="sk-ui-0123456789abcdef",
        allow_user_api_key=True,
        allow_central_api_key_fallback=True,
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    own_keys_only = await add_provider(
        env,
        family="anthropic",
        name="claude-own",
        base_url="http://127.0.0.1:9",
        central_api_key_enabled=False,
        allow_user_api_key=True,
    )
    await add_model(env, provider_config_id=own_keys_only["id"], model="claude-up", name="claude")
    await env.new_user("mia")
    page, elsewhere = await open_page(browser, live)
    response = await page.goto("/ui/providers")
    assert response is not None
    assert response.status == 401
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'self'")

    await sign_in(page, env.owner_token)
    assert await page.locator("tr[data-model='chat']").get_by_role("cell", name="chat").count() == 1
    assert await page.locator("tr[data-model='chat']").get_by_text("available").is_visible()

    await page.get_by_role("link", name="Providers").click()
    card = page.locator("article[data-provider='acme']")
    await card.wait_for()
    assert await card.get_by_text(hostile).is_visible()  # shown as text, not run
    assert await page.evaluate("window.pwned") is None
    badges = await card.locator(".badge").all_inner_texts()
    assert {"enabled", "has key", "effective key"} <= set(badges)
    sentence = "Members use the organisation's key; they may bring their own, which then wins."
    assert await card.get_by_text(sentence).is_visible()

    # The model's availability for a member who has no key of their own.
    await page.get_by_role("link", name="Models").click()
    await page.get_by_label("Availability for").select_option(label="mia (member)")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url("**/ui/models?as=*")
    assert await page.get_by_text("As seen by mia (member).").is_visible()
    assert await page.locator("tr[data-model='chat']").get_by_text("available").is_visible()
    # Not available to her until she stores a key of her own, and the page says why.
    claude = page.locator("tr[data-model='claude']")
    assert await claude.get_by_text("Needs the member's own key (My keys).").is_visible()
    await screenshot(page, "model-availability-for-a-member")

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/ui/sign-in")
    again = await page.goto("/ui/models")
    assert again is not None
    assert again.status == 401
    assert elsewhere == []


async def test_a_wrong_token_is_refused_and_a_member_cannot_open_providers(
    env: Env, live: str, browser: Browser
) -> None:
    page, _ = await open_page(browser, live)
    await page.goto("/ui/sign-in")
    await page.get_by_label("Your chatgate token").fill("cgt_" + "x" * 43)
    await page.get_by_role("button", name="Sign in").click()
    assert await page.get_by_role("alert").inner_text() == "That token is not valid."

    _, member = await env.new_user("mia")
    await sign_in(page, member)
    assert await page.get_by_role("link", name="Providers").count() == 0
    refused = await page.goto("/ui/providers")
    assert refused is not None
    assert refused.status == 403
    assert await page.get_by_role("heading", name="Not allowed").is_visible()


async def test_pages_work_with_the_keyboard_on_a_phone_sized_screen(
    env: Env, live: str, browser: Browser
) -> None:
    page, _ = await open_page(browser, live)
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.goto("/ui/sign-in")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "token"
    await page.keyboard.type(env.owner_token)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/ui/models")
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390  # nothing forces sideways scrolling


def test_every_unavailable_reason_is_said_in_words() -> None:
    assert set(UNAVAILABLE_SENTENCES) == set(get_args(UnavailableReason))

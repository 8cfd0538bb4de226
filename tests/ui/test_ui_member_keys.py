"""A member's own provider keys in a real browser (SPEC §6, §12): the key is stored and
removed through ``/api/v1/me/provider-keys`` from the page, is never shown back, and the
models page shows the model becoming available to that member."""

from __future__ import annotations

from playwright.async_api import Browser, Page

from tests.support.helpers import Env, add_model, add_provider
from tests.ui.conftest import open_page, screenshot, sign_in

MEMBER_KEY = "sk-member-own-key-0123456789wxyz"


async def availability(page: Page, model: str) -> str:
    await page.get_by_role("link", name="Models", exact=True).click()
    await page.wait_for_url("**/ui/models")
    return await page.locator(f"tr[data-model='{model}'] td").nth(3).locator(".badge").inner_text()


async def test_a_member_stores_a_key_and_the_model_becomes_available(
    env: Env, live: str, browser: Browser
) -> None:
    provider = await add_provider(
        env,
        family="openai",
        name="byok",
        display_name="Team OpenAI",
        base_url="http://127.0.0.1:9/v1",
        central_api_key_enabled=False,
        allow_user_api_key=True,
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    _, member = await env.new_user("mia")
    page, elsewhere = await open_page(browser, live)
    await sign_in(page, member)
    assert await availability(page, "chat") == "user_api_key_required"

    await page.get_by_role("link", name="My keys").click()
    await page.wait_for_url("**/ui/my-keys")
    card = page.locator("article[data-provider-key='byok']")
    assert await card.get_by_text("no key of yours").is_visible()
    field = card.get_by_label("Your key for Team OpenAI")

    # The API's own message shows next to the field: a blank key is refused.
    await field.fill("   ")
    await card.get_by_role("button", name="Store key").click()
    message = card.locator(".field-message")
    await message.filter(has_text="key").wait_for()
    assert "error" in (await message.get_attribute("class") or "")
    await screenshot(page, "my-keys-error")

    await field.fill(MEMBER_KEY)
    await field.press("Enter")  # the keyboard submits the form
    await card.get_by_text("Key stored.").wait_for()
    assert await card.get_by_text("your key stored (…wxyz)").is_visible()
    assert await field.input_value() == ""  # write-only: the field is emptied
    assert MEMBER_KEY not in await page.content()
    await screenshot(page, "my-keys")
    mine = await env.client.get("/api/v1/me/provider-keys", headers=env.auth(member))
    assert [e["has_user_api_key"] for e in mine.json()] == [True]

    assert await availability(page, "chat") == "available"
    await screenshot(page, "model-availability")
    # Reloaded from the server, the key is still not in the page.
    await page.goto("/ui/my-keys")
    assert MEMBER_KEY not in await page.content()
    assert await card.get_by_text("your key stored (…wxyz)").is_visible()

    await card.get_by_role("button", name="Remove key").click()
    await card.get_by_text("Key removed.").wait_for()
    assert await card.get_by_text("no key of yours").is_visible()
    assert await availability(page, "chat") == "user_api_key_required"
    assert elsewhere == []


async def test_a_member_without_configs_taking_keys_is_told_so(
    env: Env, live: str, browser: Browser
) -> None:
    await add_provider(
        env, family="openai", name="central", base_url="http://127.0.0.1:9/v1", api_key="sk-c" * 5
    )
    _, member = await env.new_user("mia")
    page, _ = await open_page(browser, live)
    await sign_in(page, member)
    await page.goto("/ui/my-keys")
    assert await page.get_by_text("No provider config takes a key of yours.").is_visible()
    assert await page.locator("article[data-provider-key]").count() == 0

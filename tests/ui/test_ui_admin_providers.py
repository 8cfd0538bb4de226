"""The admin's provider pages in a real browser (SPEC §3, §8, §12): create two provider
configs of one family and a model through the forms, test connections before saving
(401, a base URL without /v1, a working one), watch the badges follow the keys, delete a
config after seeing its impact. Every write goes through /api/v1 from the page's script."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env, add_provider
from tests.ui.conftest import open_page, screenshot, sign_in

KEY_A = "sk-ui-admin-key-a-0123456789abcdef"
KEY_B = "sk-ui-admin-key-b-0123456789abcdef"


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        upstream.serve_only_under = "/v1"  # an OpenAI-style server: its API lives under /v1
        yield upstream


async def badges_of(page: Page, name: str) -> set[str]:
    return set(await page.locator(f"article[data-provider='{name}'] .badge").all_inner_texts())


async def test_an_admin_creates_tests_and_deletes_provider_configs(
    env: Env, live: str, browser: Browser, fake: FakeUpstream
) -> None:
    page, elsewhere = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    await page.get_by_role("link", name="Providers").click()
    await page.wait_for_url("**/ui/providers")
    await page.get_by_role("link", name="New provider config").click()
    await page.wait_for_url("**/ui/providers/new")
    await screenshot(page, "provider-new")

    # The first config: tested before saving, through the API's unsaved-settings test.
    await page.get_by_label("Family").select_option("openai-compat")
    await expect(page.get_by_text("This family has no default base URL")).to_be_visible()
    await page.get_by_label("Name", exact=True).fill("box-a")
    await page.get_by_label("Base URL", exact=True).fill(fake.url)
    await page.get_by_label("API key").fill(KEY_A)
    result = page.locator("[data-test-result]")
    await page.get_by_role("button", name="Test connection").click()
    await expect(result).to_contain_text("Connection failed.")
    await expect(result).to_contain_text(
        f"Failed (status 404): {fake.url}/models answered 404 but {fake.url}/v1/models "
        f"answers (HTTP 200): the base URL lacks /v1, use {fake.url}/v1"
    )
    await page.get_by_label("Base URL", exact=True).fill(fake.url + "/v1")
    fake.script(status=401, error_message=f"Incorrect API key provided: {KEY_A}")
    await page.get_by_role("button", name="Test connection").click()
    await expect(result).to_contain_text(
        "Failed (status 401): Incorrect API key provided: <redacted>"
    )
    await page.get_by_role("button", name="Test connection").click()
    await expect(result).to_contain_text("Connection works.")
    await expect(result).to_contain_text("OK (status 200)")
    await screenshot(page, "provider-new-tested")
    assert [r.api_key for r in fake.requests if r.path == "/v1/models"] == [KEY_A] * 3
    await page.get_by_role("button", name="Create provider config").click()
    await page.wait_for_url("**/ui/providers")
    await expect(page.locator("article[data-provider='box-a']")).to_be_visible()
    assert {"enabled", "has key", "effective key", "1 active"} <= await badges_of(page, "box-a")

    # The second config: central keys on without a key is refused at the key's field; the
    # sentence follows the switches; with members' own keys only it saves.
    await page.get_by_role("link", name="New provider config").click()
    await page.wait_for_url("**/ui/providers/new")
    await page.get_by_label("Family").select_option("openai-compat")
    await page.get_by_label("Name", exact=True).fill("box-b")
    await page.get_by_label("Display name").fill("Box <b>B</b>")
    await page.get_by_label("Base URL", exact=True).fill(fake.url + "/v1")
    await page.get_by_role("button", name="Create provider config").click()
    key_error = page.locator("#api_key-error")
    await expect(key_error).to_contain_text("no effective central key")
    assert await page.get_by_label("API key").get_attribute("aria-invalid") == "true"
    sentence = page.locator("[data-policy-sentence]")
    await expect(sentence).to_have_text(
        "Members use the organisation's key; they cannot bring their own."
    )
    await page.get_by_label("Use the organisation's central keys").uncheck()
    await expect(sentence).to_have_text("This combination of switches is not valid.")
    await page.get_by_label("Members may bring their own key").check()
    await expect(sentence).to_have_text(
        "Every member must bring their own key; the organisation has none."
    )
    await page.get_by_role("button", name="Create provider config").click()
    await page.wait_for_url("**/ui/providers")
    await expect(page.get_by_text("Box <b>B</b>")).to_be_visible()  # a name, shown as text
    assert {"no stored key", "no effective key"} <= await badges_of(page, "box-b")
    await screenshot(page, "providers")

    # A key added on box-b's pool page shows on its badges; turning central keys on makes
    # it the effective key.
    await page.get_by_role("link", name="Keys of box-b").click()
    await page.wait_for_url("**/keys")
    await page.get_by_label("Label", exact=True).last.fill("team")
    await page.get_by_label("API key").fill(KEY_B)
    async with page.expect_navigation():  # reloaded once the API answered
        await page.get_by_role("button", name="Add key").click()
    await expect(page.locator("tr[data-key='team']")).to_contain_text("…cdef")
    await page.get_by_role("link", name="← Provider configs").click()
    assert {"has key", "no effective key", "1 active"} <= await badges_of(page, "box-b")
    await page.get_by_role("link", name="Edit box-b").click()
    await page.wait_for_url("**/edit")
    await expect(page.get_by_text("Leave empty to keep the stored key (…cdef)")).to_be_visible()
    await page.get_by_label("Use the organisation's central keys").check()
    await page.get_by_label("Members without their own key fall back to the central key").check()
    await expect(sentence).to_have_text(
        "Members use the organisation's key; they may bring their own, which then wins."
    )
    await screenshot(page, "provider-edit")
    await page.get_by_role("button", name="Save changes").click()
    await page.wait_for_url("**/ui/providers")
    assert {"has key", "effective key"} <= await badges_of(page, "box-b")
    assert "no effective key" not in await badges_of(page, "box-b")

    # A model bound to box-a, through the model form.
    await page.get_by_role("link", name="Models", exact=True).click()
    await page.get_by_role("link", name="New model config").click()
    await page.wait_for_url("**/ui/models/new")
    await page.get_by_label("Family").select_option("openai-compat")
    await page.get_by_label("Provider config").select_option(label="box-a (openai-compat)")
    await page.get_by_label("Upstream model").fill("up-model")
    await page.get_by_label("Name", exact=True).fill("chat")
    await page.get_by_label("Context limit (tokens)").fill("8192")
    await screenshot(page, "model-new")
    await page.get_by_role("button", name="Create model config").click()
    await page.wait_for_url("**/ui/models")
    row = page.locator("tr[data-model-config='chat']")
    await expect(row).to_contain_text("box-a")
    await expect(row).to_contain_text("default")
    await expect(page.locator("tr[data-model='chat']")).to_contain_text("available")
    await screenshot(page, "models")

    # Deleting box-a shows first that the model goes with it.
    await page.get_by_role("link", name="Providers").click()
    await page.get_by_role("link", name="Delete box-a").click()
    await page.wait_for_url("**/delete")
    impacted = page.locator("tr[data-impacted-model='chat']")
    await expect(impacted).to_contain_text("bound to this provider config")
    await expect(impacted).to_contain_text("default")
    await screenshot(page, "provider-delete")
    await page.get_by_role("button", name="Delete box-a").click()
    await page.wait_for_url("**/ui/providers")
    await expect(page.locator("article[data-provider='box-b']")).to_be_visible()
    assert await page.locator("article[data-provider='box-a']").count() == 0
    models = await env.client.get("/api/v1/models", headers=env.auth(env.owner_token))
    assert models.json() == []

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/ui/sign-in")
    assert elsewhere == []


async def test_a_bad_base_url_is_explained_at_its_field(
    env: Env, live: str, browser: Browser
) -> None:
    page, _ = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    await page.goto("/ui/providers/new")
    await page.get_by_label("Family").select_option("openai")
    await page.get_by_label("Base URL", exact=True).fill("ftp://example.com/v1")
    await page.get_by_label("API key").fill(KEY_A)
    await page.get_by_role("button", name="Create provider config").click()
    error = page.locator("#base_url-error")
    await expect(error).to_contain_text("base_url")
    base_url = page.get_by_label("Base URL", exact=True)
    assert await base_url.get_attribute("aria-invalid") == "true"
    assert "base_url-error" in (await base_url.get_attribute("aria-describedby") or "")
    await expect(base_url).to_be_focused()
    await expect(page.locator("[data-error-for='_form']")).to_be_hidden()
    await screenshot(page, "provider-new-field-error")
    listed = await env.client.get("/api/v1/providers", headers=env.auth(env.owner_token))
    assert listed.json() == []


async def test_a_provider_is_created_with_the_keyboard_alone(
    env: Env, live: str, browser: Browser
) -> None:
    page, _ = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    await page.goto("/ui/providers/new")
    for _ in range(20):  # past the header's links to the form's first field
        if await page.evaluate("document.activeElement.id") == "family":
            break
        await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "family"
    await page.keyboard.press("ArrowDown")  # anthropic → azure
    await page.keyboard.press("ArrowDown")  # → bedrock
    await page.keyboard.press("ArrowDown")  # → google
    await page.keyboard.press("Tab")
    await page.keyboard.type("kb-google")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Gemini by keyboard")
    await page.keyboard.press("Tab")  # base URL: the family's default
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "api_key"
    await page.keyboard.type(KEY_A)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/ui/providers")
    created = page.locator("article[data-provider='kb-google']")
    await expect(created).to_contain_text("Gemini by keyboard")
    listed = await env.client.get("/api/v1/providers", headers=env.auth(env.owner_token))
    [provider] = listed.json()
    assert (provider["family"], provider["name"], provider["has_api_key"]) == (
        "google",
        "kb-google",
        True,
    )


async def test_editing_tests_saved_keys_and_guards_them_on_an_origin_change(
    env: Env, live: str, browser: Browser, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai-compat", name="box", base_url=fake.url + "/v1", api_key=KEY_A
    )
    page, _ = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    await page.goto(f"/ui/providers/{provider['id']}/edit")
    # No key typed: the saved key is tested where it is used.
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.locator("[data-test-result]")).to_contain_text("Connection works.")
    assert [(r.path, r.api_key) for r in fake.requests] == [("/v1/models", KEY_A)]

    # Another origin would send the stored key elsewhere: refused at the base URL until
    # the admin agrees to drop the keys.
    await page.get_by_label("Base URL", exact=True).fill("http://127.0.0.2:9/v1")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#base_url-error")).to_contain_text("another server")
    await page.get_by_label("Delete the stored keys if the base URL's origin changes").check()
    await page.get_by_label("Use the organisation's central keys").uncheck()
    await page.get_by_label("Members may bring their own key").check()
    await page.get_by_role("button", name="Save changes").click()
    await page.wait_for_url("**/ui/providers")
    assert {"no stored key", "no effective key"} <= await badges_of(page, "box")
    stored = await env.client.get(
        f"/api/v1/providers/{provider['id']}", headers=env.auth(env.owner_token)
    )
    assert (stored.json()["base_url"], stored.json()["key_count"]) == ("http://127.0.0.2:9/v1", 0)

"""Model configs in a real browser (SPEC §4, §12): an admin unbinds, disables, defaults and
deletes a model through its form, with a rule's error shown at its field; and every admin
page fits a phone-sized screen without sideways scrolling."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.helpers import Env, add_model, add_provider
from tests.ui.conftest import open_page, screenshot, sign_in


async def test_an_admin_edits_and_deletes_a_model(env: Env, live: str, browser: Browser) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", api_key="sk-ui-models-0123456789abcdef"
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-a", name="alpha")
    await add_model(env, provider_config_id=provider["id"], model="gpt-b", name="beta")
    page, _ = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    beta = page.locator("tr[data-model-config='beta']")
    await expect(beta).to_contain_text("acme")
    await page.get_by_role("link", name="Edit beta").click()
    await page.wait_for_url("**/edit")
    await screenshot(page, "model-edit")

    await page.get_by_label("Name", exact=True).fill("has space")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#name-error")).to_contain_text("name")
    assert await page.get_by_label("Name", exact=True).get_attribute("aria-invalid") == "true"

    await page.get_by_label("Name", exact=True).fill("beta")
    await page.get_by_label("Provider config").select_option(
        label="Unbound: follow the family's precedence"
    )
    await page.get_by_label("Enabled").uncheck()
    await page.get_by_label("Default model").check()
    await page.get_by_role("button", name="Save changes").click()
    await page.wait_for_url("**/ui/models")
    await expect(beta).to_contain_text("unbound (openai)")
    assert set(await beta.locator(".badge").all_inner_texts()) == {"disabled", "default"}
    assert "default" not in await page.locator("tr[data-model-config='alpha']").inner_text()
    # Admins see the disabled model in the availability list with its reason.
    await expect(page.locator("tr[data-model='beta']")).to_contain_text("model_disabled")

    await page.get_by_role("link", name="Edit beta").click()
    await page.wait_for_url("**/edit")
    await page.get_by_role("button", name="Delete beta").click()
    await page.wait_for_url("**/ui/models")
    await expect(beta).to_have_count(0)
    await expect(page.locator("tr[data-model-config='alpha']")).to_contain_text("default")
    listed = await env.client.get("/api/v1/models", headers=env.auth(env.owner_token))
    assert [(m["name"], m["is_default"]) for m in listed.json()] == [("alpha", True)]


async def test_admin_pages_fit_a_phone_screen(env: Env, live: str, browser: Browser) -> None:
    provider = await add_provider(
        env,
        family="openai-compat",
        name="a-rather-long-provider-config-name-for-a-small-screen",
        base_url="https://very-long-host-name.example.internal/openai/compatible/v1",
        api_key="sk-ui-phone-0123456789abcdef",
    )
    model = await add_model(
        env, provider_config_id=provider["id"], model="some-long-upstream-model-id", name="chat"
    )
    user_id, _ = await env.new_user("mia")
    page, _ = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    await page.set_viewport_size({"width": 390, "height": 800})
    pages = {
        "providers": "/ui/providers",
        "provider-new": "/ui/providers/new",
        "provider-edit": f"/ui/providers/{provider['id']}/edit",
        "provider-keys": f"/ui/providers/{provider['id']}/keys",
        "provider-delete": f"/ui/providers/{provider['id']}/delete",
        "models": "/ui/models",
        "model-new": "/ui/models/new",
        "model-edit": f"/ui/models/{model['id']}/edit",
        "users": "/ui/users",
        "user-tokens": f"/ui/users/{user_id}",
    }
    too_wide = {}
    for name, path in pages.items():
        response = await page.goto(path)
        assert response is not None
        assert response.status == 200, path
        await screenshot(page, f"{name}-phone")
        width = await page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide[name] = width
    assert too_wide == {}
    # The dark scheme follows the system's: a screenshot to look at.
    await page.emulate_media(color_scheme="dark")
    await page.goto(f"/ui/providers/{provider['id']}/edit")
    await screenshot(page, "provider-edit-phone-dark")

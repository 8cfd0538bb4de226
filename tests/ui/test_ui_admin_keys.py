"""A provider config's key pool in a real browser (SPEC §8, §12): each key's hint, state,
cooldown and last error as badges; relabel, reactivate, disable, add and remove, with the
last usable key removed only when the admin says "remove anyway"."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from playwright.async_api import Browser, expect

from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env, add_model, add_provider
from tests.ui.conftest import open_page, screenshot, sign_in

KEY_A = "sk-ui-pool-key-a-0123456789abcAAAA"
KEY_B = "sk-ui-pool-key-b-0123456789abcBBBB"


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


async def pool_keys(env: Env, provider_id: str) -> list[dict[str, object]]:
    listed = await env.client.get(
        f"/api/v1/providers/{provider_id}/keys", headers=env.auth(env.owner_token)
    )
    assert listed.status_code == 200, listed.text
    return list(listed.json())


async def test_an_admin_sees_key_health_and_manages_the_pool(
    env: Env, live: str, browser: Browser, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="pool", base_url=fake.url + "/v1", api_key=KEY_A
    )
    added = await env.client.post(
        f"/api/v1/providers/{provider['id']}/keys",
        json={"api_key": KEY_B, "label": "backup"},
        headers=env.auth(env.owner_token),
    )
    assert added.status_code == 201, added.text
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    # Through the gateway: one key answered 429 (cooling down), the other 401 (invalid).
    client = openai.AsyncOpenAI(base_url=live + "/v1", api_key=env.owner_token, max_retries=0)
    fake.script(status=429, retry_after="600", error_message="slow down")
    fake.script(status=401, error_message=f"Incorrect API key provided: {KEY_B}")
    fake.script(status=401, error_message=f"Incorrect API key provided: {KEY_A}")
    with pytest.raises(openai.APIStatusError):
        await client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hi"}]
        )
    await client.close()
    await env.app.state.gateway.gateway.key_states.drain()
    states = {key["label"]: key["state"] for key in await pool_keys(env, provider["id"])}
    assert sorted(states.values()) == ["cooling_down", "invalid"]
    cooling = next(label for label, state in states.items() if state == "cooling_down")
    invalid = next(label for label, state in states.items() if state == "invalid")

    page, _ = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    await page.goto("/ui/providers")
    badges = page.locator("article[data-provider='pool'] .badge")
    await expect(badges.filter(has_text="1 cooling down")).to_be_visible()
    await expect(badges.filter(has_text="1 invalid")).to_be_visible()
    await page.get_by_role("link", name="Keys of pool").click()
    await page.wait_for_url("**/keys")
    cooling_row = page.locator(f"tr[data-key='{cooling}']")
    invalid_row = page.locator(f"tr[data-key='{invalid}']")
    await expect(cooling_row.locator(".badge")).to_have_text("cooling down")
    await expect(cooling_row).to_contain_text("for gpt-up")
    await expect(invalid_row.locator(".badge")).to_have_text("invalid")
    await expect(invalid_row).to_contain_text("Incorrect API key provided: <redacted>")
    await expect(page.locator("tr[data-key='backup']")).to_contain_text("…BBBB")
    await expect(page.locator("tr[data-key='primary']")).to_contain_text("…AAAA")
    content = await page.content()
    assert KEY_A not in content
    assert KEY_B not in content
    await screenshot(page, "provider-keys")

    # Relabel the rejected key, then bring it back once its account is fixed.
    await invalid_row.get_by_label("Label").fill("rejected")
    async with page.expect_navigation():  # reloaded once the API answered
        await invalid_row.get_by_role("button", name="Rename").click()
    rejected = page.locator("tr[data-key='rejected']")
    await expect(rejected).to_be_visible()
    async with page.expect_navigation():  # reloaded once the API answered
        await rejected.get_by_role("button", name="Reactivate").click()
    await expect(rejected.locator(".badge")).to_have_text("active")

    # Disabling the cooling key leaves one usable key; removing that one needs "anyway".
    async with page.expect_navigation():  # reloaded once the API answered
        await cooling_row.get_by_role("button", name="Disable").click()
    await expect(cooling_row.locator(".badge")).to_have_text("disabled")
    await rejected.get_by_role("button", name="Remove").click()
    refusal = rejected.locator("[data-call-result]")
    await expect(refusal).to_contain_text("this is the config's last usable central key")
    await screenshot(page, "provider-keys-last-usable")
    assert len(await pool_keys(env, provider["id"])) == 2
    async with page.expect_navigation():  # reloaded once the API answered
        await rejected.get_by_role("button", name="Remove anyway").click()
    await expect(rejected).to_have_count(0)
    assert [key["label"] for key in await pool_keys(env, provider["id"])] == [cooling]

    await page.get_by_role("link", name="← Provider configs").click()
    badge_texts = set(await badges.all_inner_texts())
    assert {"no stored key", "no effective key"} <= badge_texts

    # A new key makes the config whole again.
    await page.get_by_role("link", name="Keys of pool").click()
    await page.wait_for_url("**/keys")
    await page.get_by_label("Label", exact=True).last.fill("fresh")
    await page.get_by_label("API key").fill("sk-ui-pool-key-c-0123456789abcCCCC")
    async with page.expect_navigation():  # reloaded once the API answered
        await page.get_by_role("button", name="Add key").click()
    await expect(page.locator("tr[data-key='fresh']")).to_contain_text("…CCCC")
    await page.get_by_role("link", name="← Provider configs").click()
    assert {"has key", "effective key", "1 active"} <= set(await badges.all_inner_texts())


async def test_an_empty_key_is_refused_at_its_field(env: Env, live: str, browser: Browser) -> None:
    provider = await add_provider(env, family="openai", api_key=KEY_A)
    page, _ = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    await page.goto(f"/ui/providers/{provider['id']}/keys")
    await page.get_by_label("API key").fill("   ")
    await page.get_by_role("button", name="Add key").click()
    await expect(page.locator("#api_key-error")).to_contain_text("api_key is empty")
    assert len(await pool_keys(env, provider["id"])) == 1

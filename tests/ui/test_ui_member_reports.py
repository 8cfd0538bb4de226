"""The audit-log and usage pages in a real browser (SPEC §12, §13, §14): an admin filters
the audit log and pages to older entries, secrets show as ``<redacted>``; a member may not
open it (nor the API); usage draws an SVG chart of the requests recorded after gateway
traffic, and a member sees only their own."""

from __future__ import annotations

from playwright.async_api import Browser, Locator, Page

from tests.gateway.conftest import sdk
from tests.support.chats import chat_model
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env, add_provider, eventually
from tests.ui.conftest import open_page, screenshot, sign_in

MEMBER_KEY = "sk-audited-member-key-0123456789"


def change_of(entry: Locator, field: str) -> Locator:
    """The before and after cells of ``field`` in an audit entry's table of changes."""
    header = entry.page.get_by_role("rowheader", name=field, exact=True)
    return entry.locator("tbody tr").filter(has=header).get_by_role("cell")


async def entry_actions(page: Page) -> list[str]:
    return [
        await item.get_attribute("data-audit") or ""
        for item in await page.locator("li[data-audit]").all()
    ]


async def test_an_admin_filters_the_audit_log_and_a_member_is_refused(
    env: Env, live: str, browser: Browser
) -> None:
    provider = await add_provider(
        env,
        family="openai",
        name="byok",
        base_url="http://127.0.0.1:9/v1",
        central_api_key_enabled=False,
        allow_user_api_key=True,
    )
    _, member = await env.new_user("mia")
    stored = await env.client.put(
        f"/api/v1/me/provider-keys/{provider['id']}",
        json={"api_key": MEMBER_KEY},
        headers=env.auth(member),
    )
    assert stored.status_code == 200
    page, elsewhere = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    await page.get_by_role("link", name="Audit").click()
    await page.wait_for_url("**/ui/audit")
    actions = await entry_actions(page)
    assert actions[0] == "user_provider_key.create"  # newest first
    assert {"provider_config.create", "user.create"} <= set(actions)
    await screenshot(page, "audit")

    # By target type: the member's key, shown redacted.
    await page.get_by_label("Target type").select_option("user_provider_key")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/ui/audit?*target_type=user_provider_key*")
    assert await entry_actions(page) == ["user_provider_key.create"]
    entry = page.locator("li[data-audit='user_provider_key.create']")
    assert await change_of(entry, "api_key").all_inner_texts() == ["—", "<redacted>"]
    assert MEMBER_KEY not in await page.content()
    assert await entry.get_by_text("by mia via api").is_visible()

    # By actor and target id: the owner's creation of the provider config.
    await page.goto("/ui/audit")
    await page.get_by_label("Actor").select_option(label="admin")
    await page.get_by_label("Target id").fill(provider["id"])
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/ui/audit?*actor_id=*")
    assert await entry_actions(page) == ["provider_config.create"]
    created = page.locator("li[data-audit='provider_config.create']")
    assert await change_of(created, "name").all_inner_texts() == ["—", "byok"]

    # A window that ends before anything happened matches nothing.
    await page.goto("/ui/audit?until=2000-01-01")
    assert await page.get_by_text("No entry matches.").is_visible()
    bad = await page.goto("/ui/audit?since=yesterday")
    assert bad is not None
    assert bad.status == 400
    assert await page.get_by_text("since must be a date").is_visible()

    # Older entries, a page at a time, keeping the filters.
    await page.goto("/ui/audit?limit=2")
    first_page = await entry_actions(page)
    await page.get_by_role("link", name="Older").click()
    await page.wait_for_url("**/ui/audit?*cursor=*")
    second_page = await entry_actions(page)
    assert len(first_page) == 2
    assert second_page
    everything = await env.client.get(
        "/api/v1/audit-log", headers=env.auth(env.owner_token), params={"limit": 500}
    )
    expected = [e["action"] for e in everything.json()["items"]]
    assert first_page + second_page == expected[: len(first_page) + len(second_page)]
    assert elsewhere == []

    # On a phone-sized screen the entries wrap; nothing forces sideways scrolling.
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.goto("/ui/audit")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(page, "audit-phone")

    # An auditor reads it too.
    _, auditor = await env.new_user("ada", "auditor")
    auditor_page, _ = await open_page(browser, live)
    await sign_in(auditor_page, auditor)
    await auditor_page.get_by_role("link", name="Audit").click()
    await auditor_page.wait_for_url("**/ui/audit")
    assert (await entry_actions(auditor_page))[:2] == ["token.create", "user.create"]

    # A member: no link, a "Not allowed" page, and the API refuses too.
    member_page, _ = await open_page(browser, live)
    await sign_in(member_page, member)
    assert await member_page.get_by_role("link", name="Audit").count() == 0
    refused = await member_page.goto("/ui/audit")
    assert refused is not None
    assert refused.status == 403
    assert await member_page.get_by_role("heading", name="Not allowed").is_visible()
    await screenshot(member_page, "audit-member-refused")
    api = await env.client.get("/api/v1/audit-log", headers=env.auth(member))
    assert api.status_code == 403


async def usage_of(env: Env, token: str) -> int:
    response = await env.client.get(
        "/api/v1/usage", params={"group_by": "model"}, headers=env.auth(token)
    )
    return sum(group["requests"] for group in response.json())


async def test_the_usage_page_charts_the_recorded_requests(
    env: Env, live: str, browser: Browser, fake: FakeUpstream
) -> None:
    await chat_model(env, fake.url)
    _, mia = await env.new_user("mia")
    _, noah = await env.new_user("noah")
    for token, count in ((mia, 3), (noah, 1)):
        client = sdk(env, token)
        for n in range(count):
            answer = await client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": f"hi {n}"}]
            )
            assert answer.choices[0].message.content

    async def recorded() -> bool:
        return await usage_of(env, env.owner_token) == 4

    await eventually(recorded, what="the usage rows to be flushed")

    page, elsewhere = await open_page(browser, live)
    await sign_in(page, mia)
    await page.get_by_role("link", name="Usage").click()
    await page.wait_for_url("**/ui/usage")
    assert await page.get_by_text("Your own requests").is_visible()
    chart = page.locator("svg[data-chart='chart-model']")
    assert await chart.get_attribute("role") == "img"
    assert await chart.locator("title").first.text_content() == "Requests per model"
    description = await chart.locator("desc").text_content() or ""
    assert "Totals: chat: 3." in description  # mia's own requests only
    line = chart.locator("g[data-series='chat'] polyline")
    assert await line.count() == 1
    today = page.locator("g[data-series='chat'] circle title").last
    assert (await today.text_content() or "").endswith(": 3 requests")
    row = page.locator("section[data-usage='model'] tr[data-group='chat'] td")
    assert (await row.all_inner_texts())[:5] == ["3", "3", "0", "33", "21"]
    provider_row = page.locator("section[data-usage='provider_config'] tr[data-group='acme'] td")
    assert (await provider_row.all_inner_texts())[0] == "3"
    await screenshot(page, "usage")

    await page.get_by_label("Window").select_option("1")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url("**/ui/usage?days=1")
    assert "Totals: chat: 3." in (await chart.locator("desc").text_content() or "")

    # Admins see everyone's.
    admin_page, _ = await open_page(browser, live)
    await sign_in(admin_page, env.owner_token)
    await admin_page.goto("/ui/usage")
    assert await admin_page.get_by_text("Everyone's requests").is_visible()
    admin_chart = admin_page.locator("svg[data-chart='chart-model'] desc")
    assert "Totals: chat: 4." in (await admin_chart.text_content() or "")
    assert elsewhere == []


async def test_the_usage_page_without_traffic_says_so(
    env: Env, live: str, browser: Browser
) -> None:
    _, mia = await env.new_user("mia")
    page, _ = await open_page(browser, live)
    await page.set_viewport_size({"width": 390, "height": 800})
    await sign_in(page, mia)
    await page.goto("/ui/usage")
    assert await page.get_by_text("Nothing recorded in this window.").count() == 2
    assert await page.get_by_text("No requests in this window.").count() == 2
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390
    await screenshot(page, "usage-empty-phone")


async def test_audit_filters_at_the_calendars_edges_are_400_pages_not_errors(env: Env) -> None:
    """A mistyped year must not overflow the date arithmetic into a 500."""
    for params in (
        {"until": "9999-12-31"},
        {"since": "0001-01-01T00:00:00+05:00"},
        {"target_id": "abc\x00"},
    ):
        response = await env.client.get(
            "/ui/audit", params=params, headers=env.auth(env.owner_token)
        )
        assert response.status_code == 400, (params, response.status_code)
        assert "text/html" in response.headers["content-type"]

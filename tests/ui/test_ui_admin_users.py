"""Users and tokens in a real browser (SPEC §13, §14): an admin creates a user, gives them
a first token (shown once), is told why a second one is refused, revokes it, changes the
user's role and disables them. The owner and the admin themselves are not offered what
the API refuses."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.helpers import Env
from tests.ui.conftest import open_page, screenshot, sign_in


async def test_an_admin_onboards_a_user_and_manages_their_token(
    env: Env, live: str, browser: Browser
) -> None:
    page, elsewhere = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    await page.get_by_role("link", name="Users").click()
    await page.wait_for_url("**/ui/users")
    owner_row = page.locator("tr[data-user='admin']")
    await expect(owner_row).to_contain_text("owner")
    assert await owner_row.get_by_role("button", name="Disable").count() == 0
    assert await owner_row.get_by_role("combobox").count() == 0

    await page.get_by_label("Username").fill("Lena")
    await page.get_by_label("Display name").fill("Lena <i>L</i>")
    await page.get_by_role("button", name="Create user").click()
    await page.wait_for_url("**/ui/users/*")
    await expect(page.get_by_role("heading", name="Tokens of lena")).to_be_visible()
    await expect(page.get_by_text("No token.")).to_be_visible()

    await page.get_by_label("Token name").fill("laptop")
    await page.get_by_role("button", name="Create token").click()
    shown = page.get_by_label("Token", exact=True)
    await expect(shown).to_be_visible()
    token = await shown.input_value()
    assert token.startswith("cgt_")
    await expect(shown).to_be_focused()
    await expect(page.get_by_text("it is shown this once")).to_be_visible()
    await screenshot(page, "user-token-created")
    me = await env.client.get("/api/v1/users/me", headers=env.auth(token))
    assert me.json()["username"] == "lena"

    # A second token while the first is live: refused, and the page says why.
    await page.get_by_label("Token name").fill("second")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.locator("[data-error-for='_form']")).to_contain_text(
        "only while that user has no live token"
    )
    async with page.expect_navigation():  # reloaded once the API answered
        await page.get_by_role("link", name="Done").click()
    await expect(page.locator("[data-live-token-note]")).to_contain_text(
        "lena already has a live token"
    )
    row = page.locator("tr[data-token='laptop']")
    await expect(row).to_contain_text("by admin")
    assert token not in await page.content()
    await screenshot(page, "user-tokens")
    async with page.expect_navigation():  # reloaded once the API answered
        await row.get_by_role("button", name="Revoke").click()
    await expect(page.get_by_text("No token.")).to_be_visible()
    refused = await env.client.get("/api/v1/users/me", headers=env.auth(token))
    assert refused.status_code == 401

    # Role and disabling, from the users list.
    await page.get_by_role("link", name="← Users").click()
    await page.wait_for_url("**/ui/users")
    lena = page.locator("tr[data-user='lena']")
    await expect(lena).to_contain_text("Lena <i>L</i>")
    await lena.get_by_label("Role of lena").select_option("auditor")
    async with page.expect_navigation():  # the page reloads once the API has answered
        await lena.get_by_role("button", name="Change role").click()
    await expect(page.locator("tr[data-user='lena'] select")).to_have_value("auditor")
    async with page.expect_navigation():  # reloaded once the API answered
        await page.locator("tr[data-user='lena']").get_by_role("button", name="Disable").click()
    await expect(page.locator("tr[data-user='lena'] .badge")).to_have_text("disabled")
    await screenshot(page, "users")
    users = await env.client.get("/api/v1/users", headers=env.auth(env.owner_token))
    [stored] = [u for u in users.json() if u["username"] == "lena"]
    assert (stored["role"], stored["disabled"]) == ("auditor", True)
    assert elsewhere == []


async def test_a_bad_username_is_explained_at_its_field(
    env: Env, live: str, browser: Browser
) -> None:
    page, _ = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    await page.goto("/ui/users")
    await page.get_by_label("Username").fill("no spaces")
    await page.get_by_role("button", name="Create user").click()
    await expect(page.locator("#username-error")).to_contain_text("username")
    assert await page.get_by_label("Username").get_attribute("aria-invalid") == "true"


async def test_members_are_not_allowed_and_auditors_only_read(
    env: Env, live: str, browser: Browser
) -> None:
    _, member = await env.new_user("mia")
    _, auditor = await env.new_user("otto", "auditor")
    page, _ = await open_page(browser, live)
    await sign_in(page, member)
    assert await page.get_by_role("link", name="Users").count() == 0
    for path in ("/ui/users", "/ui/providers/new", "/ui/models/new", "/ui/users/me"):
        refused = await page.goto(path)
        assert refused is not None
        assert refused.status == 403, path
        await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await screenshot(page, "not-allowed")
    # The API refuses the member too, with the CSRF header and all.
    api = await page.request.post(
        "/api/v1/providers",
        data={"family": "openai", "api_key": "sk-member-0123456789abcdef"},
        headers={"x-chatgate-csrf": "1"},
    )
    assert api.status == 403

    await page.goto("/ui/models")
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/ui/sign-in")
    await sign_in(page, auditor)
    await page.get_by_role("link", name="Users").click()
    await page.wait_for_url("**/ui/users")
    await expect(page.locator("tr[data-user='mia']")).to_contain_text("member")
    assert await page.get_by_role("button", name="Create user").count() == 0
    assert await page.get_by_role("button", name="Disable").count() == 0
    await page.get_by_role("link", name="Providers").click()
    assert await page.get_by_role("link", name="New provider config").count() == 0


async def test_a_write_without_the_csrf_header_is_refused(
    env: Env, live: str, browser: Browser
) -> None:
    page, _ = await open_page(browser, live)
    await sign_in(page, env.owner_token)
    body = {"family": "openai", "api_key": "sk-csrf-0123456789abcdef"}
    refused = await page.request.post("/api/v1/providers", data=body)
    assert refused.status == 403
    assert (await refused.json())["code"] == "csrf_required"
    listed = await env.client.get("/api/v1/providers", headers=env.auth(env.owner_token))
    assert listed.json() == []
    # The same request as the page's script sends it is accepted.
    accepted = await page.request.post(
        "/api/v1/providers", data=body, headers={"x-chatgate-csrf": "1"}
    )
    assert accepted.status == 201

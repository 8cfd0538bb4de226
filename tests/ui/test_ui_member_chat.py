"""Chatting in a real browser (SPEC §10, §12): a new chat with a model picker, the reply
streamed into the page piece by piece from a fake upstream, model output shown as text,
the ``model_deleted`` flow offering the default, renaming and deleting a chat."""

from __future__ import annotations

from playwright.async_api import Browser, Page

from tests.support.chats import chat_model, new_chat
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env, add_model, add_provider
from tests.ui.conftest import open_page, screenshot, sign_in

# The last assistant message on the page.
LAST_REPLY = "li.message.assistant:last-child"


async def send(page: Page, text: str) -> None:
    await page.get_by_label("Your message").fill(text)
    await page.get_by_role("button", name="Send").click()


async def test_a_member_starts_a_chat_and_sees_the_reply_stream_in(
    env: Env, live: str, browser: Browser, fake: FakeUpstream
) -> None:
    model = await chat_model(env, fake.url)
    byok = await add_provider(
        env,
        family="openai",
        name="byok",
        base_url=fake.url + "/v1",
        central_api_key_enabled=False,
        allow_user_api_key=True,
    )
    await add_model(env, provider_config_id=byok["id"], model="gpt-byok", name="own-key-only")
    _, member = await env.new_user("mia")
    page, elsewhere = await open_page(browser, live)
    await sign_in(page, member)

    await page.get_by_role("link", name="Chat", exact=True).click()
    await page.wait_for_url("**/ui/chats")
    picker = page.get_by_label("Model")
    assert await picker.input_value() == model["id"]  # the default is preselected
    unavailable = picker.locator("option", has_text="own-key-only")
    assert await unavailable.is_disabled()
    assert "unavailable: user api key required" in await unavailable.inner_text()
    await screenshot(page, "chats-empty")
    await page.get_by_label("Title (optional)").fill("Counting")
    await page.get_by_role("button", name="Start chat").click()
    await page.wait_for_url("**/ui/chats/*")
    assert await page.get_by_role("heading", name="Counting").is_visible()

    # The upstream sends the role chunk and two words, then waits: the page shows them.
    script = fake.script(text="one two three four five", stall_after=3)
    await send(page, "Count to five")
    reply = page.locator(LAST_REPLY)
    await reply.locator(".content", has_text="one two").wait_for()
    assert await reply.get_attribute("data-status") == "streaming"
    assert (await reply.locator(".content").inner_text()).strip() == "one two"
    assert await page.get_by_label("Your message").input_value() == ""  # taken
    assert await page.get_by_role("button", name="Send").is_disabled()  # one reply at a time
    await screenshot(page, "chat-streaming")
    script.release.set()
    await page.locator(f"{LAST_REPLY}[data-status='complete']").wait_for()
    assert await reply.locator(".content").inner_text() == "one two three four five"
    assert int(await reply.get_attribute("data-pieces") or 0) > 1
    assert await page.get_by_label("Your message").input_value() == ""
    assert await page.locator("li.message.user .content").inner_text() == "Count to five"

    # Model output is text: markup in a reply is shown, never run.
    hostile = '<img src=x onerror="window.pwned=1"> <script>window.pwned=2</script>done'
    fake.script(text=hostile)
    await send(page, "Say something odd")
    await page.locator("li.message.assistant[data-status='complete']").nth(1).wait_for()
    assert await page.locator(LAST_REPLY).locator(".content").inner_text() == hostile
    assert await page.locator("li.message img").count() == 0
    # Read back from the server, it is still text.
    await page.reload()
    assert await page.locator(LAST_REPLY).locator(".content").inner_text() == hostile
    assert await page.evaluate("window.pwned") is None
    await screenshot(page, "chat")

    # The chats list shows it, newest first.
    await page.get_by_role("link", name="All chats").click()
    await page.wait_for_url("**/ui/chats")
    assert await page.get_by_role("link", name="Counting").is_visible()
    await screenshot(page, "chats")
    assert elsewhere == []


async def test_a_chat_whose_model_was_deleted_offers_the_default(
    env: Env, live: str, browser: Browser, fake: FakeUpstream
) -> None:
    first = await chat_model(env, fake.url)
    second = await add_model(
        env, provider_config_id=first["provider_config_id"], model="gpt-two", name="two"
    )
    _, member = await env.new_user("mia")
    chat = await new_chat(env, member, model_config_id=second["id"], title="Old model")
    page, _ = await open_page(browser, live)
    await sign_in(page, member)
    await page.goto(f"/ui/chats/{chat['id']}")
    notice = page.locator("[data-model-notice]")
    assert await notice.is_hidden()

    deleted = await env.client.delete(
        f"/api/v1/models/{second['id']}", headers=env.auth(env.owner_token)
    )
    assert deleted.status_code == 204
    await send(page, "Still there?")
    await notice.get_by_text("This chat's model was deleted. The default model is chat.").wait_for()
    assert fake.requests == []
    assert await page.locator("li.message").count() == 0  # nothing was stored or shown
    await screenshot(page, "chat-model-deleted")

    # Continuing switches the chat to the default and sends the message kept back.
    fake.script(text="Yes, with the default.")
    await notice.get_by_role("button", name="Continue with chat").click()
    await page.locator(f"{LAST_REPLY}[data-status='complete']").wait_for()
    assert await notice.is_hidden()
    assert await page.locator(LAST_REPLY).locator(".content").inner_text() == (
        "Yes, with the default."
    )
    got = await env.client.get(f"/api/v1/chats/{chat['id']}", headers=env.auth(member))
    assert got.json()["model_config_id"] == first["id"]

    # A chat opened after its model went says so at once.
    other = await new_chat(env, member, model_config_id=first["id"])
    await env.client.patch(
        f"/api/v1/models/{first['id']}",
        json={"is_default": False},
        headers=env.auth(env.owner_token),
    )
    third = await add_model(
        env,
        provider_config_id=first["provider_config_id"],
        model="gpt-3",
        name="three",
        is_default=True,
    )
    await env.client.delete(f"/api/v1/models/{first['id']}", headers=env.auth(env.owner_token))
    await page.goto(f"/ui/chats/{other['id']}")
    assert await notice.is_visible()
    await notice.get_by_role("button", name="Continue with three").click()
    await notice.wait_for(state="hidden")
    assert await page.locator("[data-current-model]").inner_text() == "three"
    got = await env.client.get(f"/api/v1/chats/{other['id']}", headers=env.auth(member))
    assert got.json()["model_config_id"] == third["id"]


async def test_a_member_renames_and_deletes_a_chat(
    env: Env, live: str, browser: Browser, fake: FakeUpstream
) -> None:
    await chat_model(env, fake.url)
    _, member = await env.new_user("mia")
    chat = await new_chat(env, member, title="Draft")
    page, _ = await open_page(browser, live)
    await sign_in(page, member)
    await page.goto(f"/ui/chats/{chat['id']}")
    await page.get_by_text("Chat settings").click()
    title = page.get_by_label("Title", exact=True)
    await title.fill("<b>Plans</b>")
    await page.get_by_role("button", name="Rename").click()
    await page.get_by_text("Renamed.").wait_for()
    assert await page.locator("h1").inner_text() == "<b>Plans</b>"
    got = await env.client.get(f"/api/v1/chats/{chat['id']}", headers=env.auth(member))
    assert got.json()["title"] == "<b>Plans</b>"

    # Another member cannot open it: the page is a 404, as the API's answer.
    _, other = await env.new_user("noah")
    stranger, _ = await open_page(browser, live)
    await sign_in(stranger, other)
    refused = await stranger.goto(f"/ui/chats/{chat['id']}")
    assert refused is not None
    assert refused.status == 404

    await page.get_by_text("Delete this chat").click()
    await page.get_by_role("button", name="Delete for good").click()
    await page.wait_for_url("**/ui/chats")
    assert await page.get_by_text("No chat yet.").is_visible()
    gone = await env.client.get(f"/api/v1/chats/{chat['id']}", headers=env.auth(member))
    assert gone.status_code == 404


async def test_the_chats_list_pages_to_older_chats(
    env: Env, live: str, browser: Browser, fake: FakeUpstream
) -> None:
    await chat_model(env, fake.url)
    _, member = await env.new_user("mia")
    for n in range(3):
        await new_chat(env, member, title=f"chat {n}")
    page, _ = await open_page(browser, live)
    await sign_in(page, member)
    await page.goto("/ui/chats?limit=2")
    titles = page.locator("ul.chat-list li a")
    assert await titles.all_inner_texts() == ["chat 2", "chat 1"]
    await page.get_by_role("link", name="Older").click()
    await page.wait_for_url("**/ui/chats?cursor=*")
    assert await titles.all_inner_texts() == ["chat 0"]
    assert await page.get_by_role("link", name="Older").count() == 0


async def test_a_chat_works_with_the_keyboard_on_a_phone_in_dark_mode(
    env: Env, live: str, browser: Browser, fake: FakeUpstream
) -> None:
    await chat_model(env, fake.url)
    _, member = await env.new_user("mia")
    page, _ = await open_page(browser, live)
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.emulate_media(color_scheme="dark")
    await sign_in(page, member)
    await page.goto("/ui/chats")
    # From the title field, the keyboard reaches the button and starts the chat.
    await page.get_by_label("Title (optional)").focus()
    await page.keyboard.type("On the go")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Start chat"
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/ui/chats/*")

    fake.script(text="A reply long enough to wrap on a narrow screen " * 4)
    await page.get_by_label("Your message").focus()
    await page.keyboard.type("Hello from a phone")
    await page.keyboard.press("Enter")  # Enter sends; Shift+Enter would add a line
    await page.locator(f"{LAST_REPLY}[data-status='complete']").wait_for()
    assert await page.locator("li.message.user .content").inner_text() == "Hello from a phone"
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390  # nothing forces sideways scrolling
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"  # the dark palette follows the system
    await screenshot(page, "chat-phone-dark")


async def test_refusals_and_upstream_failures_are_shown_in_the_chat(
    env: Env, live: str, browser: Browser, fake: FakeUpstream
) -> None:
    central = await chat_model(env, fake.url)
    byok = await add_provider(
        env,
        family="openai",
        name="byok",
        base_url=fake.url + "/v1",
        central_api_key_enabled=False,
        allow_user_api_key=True,
    )
    own = await add_model(env, provider_config_id=byok["id"], model="gpt-byok", name="own")
    _, member = await env.new_user("mia")
    chat = await new_chat(env, member, model_config_id=own["id"])
    page, _ = await open_page(browser, live)
    await sign_in(page, member)
    await page.goto(f"/ui/chats/{chat['id']}")

    # The model needs the member's own key: the API's message shows by the message field.
    await send(page, "Hi")
    message = page.locator("#content-message")
    await message.filter(has_text="key").wait_for()
    assert "error" in (await message.get_attribute("class") or "")
    assert await page.locator("li.message").count() == 0
    assert fake.requests == []

    # On a model with a key, an upstream failure before any text is an error reply.
    await page.get_by_text("Chat settings").click()
    await page.get_by_label("Model for the next replies").select_option(central["id"])
    await page.get_by_role("button", name="Switch model").click()
    await page.get_by_text("The next replies come from this model.").wait_for()
    fake.script(status=500, error_message="upstream exploded")
    await send(page, "Hi again")
    failed = page.locator(f"{LAST_REPLY}[data-status='error']")
    await failed.wait_for()
    assert await failed.locator(".badge").inner_text() == "error"
    assert await failed.locator("p.error").inner_text() != ""
    await screenshot(page, "chat-errors")
    # Stored as the API says, and shown so after a reload.
    await page.reload()
    assert await page.locator(f"{LAST_REPLY}[data-status='error']").count() == 1

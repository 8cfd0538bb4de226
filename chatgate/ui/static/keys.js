// chatgate UI, "My API keys": store (PUT) and remove (DELETE) the caller's own key through
// /api/v1/me/provider-keys. The key is write-only: the field is emptied after a save and
// the page only ever shows what the API answers (stored or not, and a 4-character hint).
import { callApi, errorOf, say } from "./api.js";

function stateText(entry) {
  if (!entry.has_user_api_key) return "no key of yours";
  return entry.api_key_hint ? `your key stored (…${entry.api_key_hint})` : "your key stored";
}

document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form[data-store-key]");
  if (!form) return;
  event.preventDefault();
  const configId = form.dataset.storeKey;
  const input = form.querySelector("input[name=api_key]");
  const field = `key-${configId}`;
  const card = form.closest("[data-provider-key]");
  const response = await callApi(
    "PUT",
    `/api/v1/me/provider-keys/${encodeURIComponent(configId)}`,
    { api_key: input.value },
  );
  if (!response.ok) {
    const error = await errorOf(response);
    say(card, field, error.message, "error");
    input.focus();
    return;
  }
  const entry = await response.json();
  input.value = "";
  const state = card.querySelector("[data-key-state]");
  state.textContent = stateText(entry);
  state.className = "badge ok";
  say(card, field, "Key stored. Models of this config now use it.", "ok");
  form.querySelector("button[type=submit]").textContent = "Replace key";
  if (!card.querySelector("[data-remove-key]")) {
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.dataset.removeKey = configId;
    remove.textContent = "Remove key";
    form.querySelector(".button-row").append(remove);
  }
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-remove-key]");
  if (!button) return;
  const configId = button.dataset.removeKey;
  const card = button.closest("[data-provider-key]");
  const response = await callApi(
    "DELETE",
    `/api/v1/me/provider-keys/${encodeURIComponent(configId)}`,
  );
  if (!response.ok) {
    say(card, `key-${configId}`, (await errorOf(response)).message, "error");
    return;
  }
  const state = card.querySelector("[data-key-state]");
  state.textContent = "no key of yours";
  state.className = "badge warn";
  say(card, `key-${configId}`, "Key removed.", "ok");
  const submit = card.querySelector("button[type=submit]");
  if (submit) submit.textContent = "Store key";
  button.remove();
});

// chatgate UI, chats: start a chat, send a message and show the reply as it streams,
// rename, switch the model, delete — all through /api/v1/chats (see api.js).
//
// The reply arrives as server-sent events on the POST's own response (`event: delta`
// {content}, then `event: done` with the stored message, or `event: error` {code,
// message}); EventSource cannot POST, so the body is read with fetch's stream reader.
// Model output is only ever put into the page with textContent: it shows as text.
import { callApi, errorOf, say, showError } from "./api.js";

const chat = document.querySelector("[data-chat-id]");
const chatId = chat ? chat.dataset.chatId : null;
const chatPath = chatId ? `/api/v1/chats/${encodeURIComponent(chatId)}` : null;

// -- the chats list: a new chat ----------------------------------------------------------

document.querySelector("form[data-new-chat]")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  for (const field of ["model_config_id", "title"]) say(form, field, "", null);
  const body = { title: form.elements.title.value };
  if (form.elements.model_config_id.value) body.model_config_id = form.elements.model_config_id.value;
  const response = await callApi("POST", "/api/v1/chats", body);
  if (!response.ok) {
    showError(form, await errorOf(response), "model_config_id");
    return;
  }
  const created = await response.json();
  window.location.assign(`/ui/chats/${encodeURIComponent(created.id)}`);
});

// -- one chat: messages ---------------------------------------------------------------------

function messageItem(role, text, status) {
  const item = document.createElement("li");
  item.className = `message ${role}`;
  item.dataset.role = role;
  item.dataset.status = status;
  const who = document.createElement("p");
  who.className = "who";
  who.textContent = role === "user" ? "You" : "Assistant";
  const content = document.createElement("div");
  content.className = "content";
  content.textContent = text;
  item.append(who, content);
  document.querySelector("[data-messages]").append(item);
  return item;
}

function markStatus(item, status) {
  item.dataset.status = status;
  item.querySelector(".badge")?.remove();
  if (status === "complete" || status === "streaming") return;
  const badge = document.createElement("span");
  badge.className = `badge ${status === "error" ? "bad" : "warn"}`;
  badge.textContent = status;
  item.querySelector(".who").append(" ", badge);
}

// One SSE block ("event: x\ndata: {...}") → {event, data}.
function parseEvent(block) {
  let name = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trimStart();
  }
  return { event: name, data: data ? JSON.parse(data) : null };
}

async function readReply(response, item) {
  const content = item.querySelector(".content");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let finished = false;
  while (!finished) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replaceAll("\r\n", "\n");
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      const { event, data } = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event === "delta") {
        content.textContent += data.content;
        item.dataset.pieces = String(Number(item.dataset.pieces || 0) + 1);
      } else if (event === "done") {
        if (data) {
          content.textContent = data.content;
          markStatus(item, data.status);
        } else {
          markStatus(item, "complete");
        }
        finished = true;
      } else if (event === "error") {
        markStatus(item, content.textContent ? "partial" : "error");
        const note = document.createElement("p");
        note.className = "error";
        note.textContent = data.message;
        item.append(note);
        finished = true;
      }
      end = buffer.indexOf("\n\n");
    }
  }
  if (!finished) markStatus(item, content.textContent ? "partial" : "error");
}

function showModelNotice(text) {
  const notice = document.querySelector("[data-model-notice]");
  if (!notice) return;
  if (text) notice.querySelector("[data-model-notice-text]").textContent = text;
  notice.hidden = false;
  notice.querySelector("button")?.focus();
}

const sendForm = document.querySelector("form[data-send]");
let lastUnsent = null; // the message a model_deleted refusal kept back, sent after switching

async function send(text) {
  const submit = sendForm.querySelector("button[type=submit]");
  submit.disabled = true; // one reply at a time per chat
  say(sendForm, "content", "", null);
  try {
    const response = await callApi("POST", `${chatPath}/messages`, { content: text });
    if (!response.ok) {
      const error = await errorOf(response);
      if (error.code === "model_deleted") {
        lastUnsent = text; // sent once the chat has a model again
        const fallback = error.detail && error.detail.default_model;
        showModelNotice(
          `This chat's model was deleted.${fallback ? ` The default model is ${fallback}.` : ""}`,
        );
        return false;
      }
      showError(sendForm, error, "content");
      return false;
    }
    messageItem("user", text, "complete");
    // Accepted and stored: the field is free for the next message while the reply streams.
    if (sendForm.elements.content.value === text) sendForm.elements.content.value = "";
    const reply = messageItem("assistant", "", "streaming");
    reply.setAttribute("aria-busy", "true");
    try {
      await readReply(response, reply);
    } finally {
      reply.removeAttribute("aria-busy");
    }
    return true;
  } finally {
    submit.disabled = false;
  }
}

sendForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = sendForm.elements.content;
  const text = field.value;
  if (!text.trim()) {
    say(sendForm, "content", "Write a message first.", "error");
    field.focus();
    return;
  }
  await send(text);
});

// Enter sends, Shift+Enter makes a new line.
sendForm?.elements.content.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendForm.requestSubmit();
  }
});

// -- one chat: settings -----------------------------------------------------------------------

async function patchChat(scope, fallback, changes) {
  say(scope, fallback, "", null);
  const response = await callApi("PATCH", chatPath, changes);
  if (!response.ok) {
    showError(scope, await errorOf(response), fallback);
    return null;
  }
  return response.json();
}

function labelOf(modelId) {
  const option = document.querySelector(`#model_config_id option[value="${CSS.escape(modelId)}"]`);
  return option ? option.textContent.replace(/ \(default\)$/, "") : modelId;
}

async function switchModel(scope, fallback, modelId) {
  const updated = await patchChat(scope, fallback, { model_config_id: modelId });
  if (!updated) return false;
  document.querySelector("[data-current-model]").textContent = labelOf(modelId);
  const notice = document.querySelector("[data-model-notice]");
  if (notice) notice.hidden = true;
  const picker = document.querySelector("form[data-switch-model] select");
  if (picker) picker.value = modelId;
  return true;
}

document.querySelector("form[data-rename]")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const updated = await patchChat(form, "title", { title: form.elements.title.value });
  if (!updated) return;
  const title = updated.title || "Untitled chat";
  document.querySelector("[data-chat-title]").textContent = title;
  document.title = `${title} · chatgate`;
  say(form, "title", "Renamed.", "ok");
});

document.querySelector("form[data-switch-model]")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  if (await switchModel(form, "model_config_id", form.elements.model_config_id.value)) {
    say(form, "model_config_id", "The next replies come from this model.", "ok");
  }
});

document.querySelector("[data-continue-with]")?.addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const notice = button.closest("[data-model-notice]");
  if (!(await switchModel(notice, "model-notice", button.dataset.continueWith))) return;
  if (lastUnsent !== null) {
    const text = lastUnsent;
    lastUnsent = null;
    await send(text);
  }
  sendForm.elements.content.focus();
});

document.querySelector("[data-delete-chat]")?.addEventListener("click", async (event) => {
  const scope = event.currentTarget.closest("details");
  const response = await callApi("DELETE", chatPath);
  if (!response.ok && response.status !== 404) {
    showError(scope, await errorOf(response), "delete");
    return;
  }
  window.location.assign("/ui/chats");
});

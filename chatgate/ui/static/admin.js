// chatgate admin pages: every write is a fetch to the same /api/v1 endpoint an API client
// calls, signed in by the session cookie, so it carries the CSRF header. An error's message
// is shown next to the field its `detail` names (400/409: {field}; 422: [{field, message}]),
// or at the form when it names none. Everything is set with textContent: names stay text.
"use strict";

const CSRF_HEADERS = { "x-chatgate-csrf": "1" };

async function callApi(method, url, body) {
  const init = { method, credentials: "same-origin", headers: { ...CSRF_HEADERS } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    return { ok: false, status: 0, data: { code: "network", message: "chatgate could not be reached" } };
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  return { ok: response.ok, status: response.status, data };
}

// -- reading a form into a JSON body -------------------------------------------------------

function fieldValue(element) {
  const kind = element.dataset.kind || "text";
  const raw = element.value;
  if (kind === "bool") return element.checked;
  if (kind === "choice") {
    if (raw === "auto") return undefined; // absent: the server decides (auto-bind)
    return raw === "" ? null : raw;
  }
  if (kind === "number-or-null" || kind === "int") {
    const text = raw.trim();
    if (text === "") return kind === "int" ? undefined : null;
    const number = Number(text);
    // Not a number: send the text, so the API names the field (422) instead of a guess here.
    return Number.isNaN(number) ? text : number;
  }
  return raw;
}

function namedFields(form) {
  return Array.from(form.elements).filter((element) => element.name && !element.disabled);
}

const initialValues = new WeakMap();

function rememberInitialValues(form) {
  for (const element of namedFields(form)) {
    initialValues.set(element, JSON.stringify(fieldValue(element)));
  }
}

function formBody(form) {
  const onlyChanged = form.dataset.send === "changed";
  const body = {};
  for (const element of namedFields(form)) {
    const value = fieldValue(element);
    if (value === undefined) continue;
    if ("omitEmpty" in element.dataset && value === "") continue;
    if (onlyChanged && initialValues.get(element) === JSON.stringify(value)) continue;
    body[element.name] = value;
  }
  return body;
}

// -- showing errors where they belong ------------------------------------------------------

function clearErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
  for (const element of form.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
}

function errorProblems(data) {
  // [{field, message}]: a 422 lists its problems; a 400/409 names one field in detail.
  if (!data) return [{ field: null, message: "Something went wrong." }];
  if (Array.isArray(data.detail)) {
    return data.detail.map((problem) => ({ field: problem.field, message: `${problem.field}: ${problem.message}` }));
  }
  const field = data.detail && typeof data.detail === "object" ? data.detail.field : null;
  return [{ field: field || null, message: data.message || "Something went wrong." }];
}

function showErrors(form, data) {
  clearErrors(form);
  let first = null;
  for (const problem of errorProblems(data)) {
    const element = problem.field ? form.elements.namedItem(problem.field) : null;
    const slot = element && form.querySelector(`[data-error-for="${CSS.escape(problem.field)}"]`);
    if (element && slot) {
      slot.textContent = problem.message;
      element.setAttribute("aria-invalid", "true");
      first = first || element;
    } else {
      const formSlot = form.querySelector('[data-error-for="_form"]');
      if (formSlot) formSlot.textContent = formSlot.textContent ? `${formSlot.textContent} ${problem.message}` : problem.message;
    }
  }
  if (first && typeof first.focus === "function") first.focus();
}

// -- after a success -----------------------------------------------------------------------

function followUp(then, data) {
  if (!then || then === "reload") {
    window.location.reload();
    return;
  }
  const id = data && data.id ? String(data.id) : "";
  window.location.assign(then.replace("{id}", encodeURIComponent(id)));
}

function showNewToken(data) {
  const section = document.querySelector("[data-new-token]");
  const output = section && section.querySelector("[data-new-token-value]");
  if (!output) return;
  output.value = data.token;
  section.hidden = false;
  output.focus();
  output.select();
}

async function submitForm(form) {
  const submit = form.querySelector('button[type="submit"]');
  if (submit) submit.disabled = true;
  try {
    const result = await callApi(form.dataset.method, form.dataset.action, formBody(form));
    if (!result.ok) {
      showErrors(form, result.data);
      return;
    }
    clearErrors(form);
    if (form.dataset.then === "show-token") {
      form.reset();
      showNewToken(result.data);
      return;
    }
    followUp(form.dataset.then, result.data);
  } finally {
    if (submit) submit.disabled = false;
  }
}

// -- connection tests ----------------------------------------------------------------------

function renderTestResult(container, result) {
  container.replaceChildren();
  const summary = document.createElement("p");
  const list = document.createElement("ul");
  if (!result.ok && !(result.data && Array.isArray(result.data.keys))) {
    summary.className = "error";
    summary.textContent = `Could not test: ${(result.data && result.data.message) || "unknown error"}`;
    container.append(summary);
    return;
  }
  const outcome = result.data;
  if (outcome.keys.length === 0) {
    summary.className = "warn";
    summary.textContent = "No enabled key to test.";
  } else {
    summary.className = outcome.ok ? "ok" : "error";
    summary.textContent = outcome.ok ? "Connection works." : "Connection failed.";
  }
  for (const key of outcome.keys) {
    const item = document.createElement("li");
    const status = key.status === null ? "no answer" : `status ${key.status}`;
    item.textContent = key.ok ? `OK (${status})` : `Failed (${status}): ${key.message}`;
    item.className = key.ok ? "ok" : "error";
    list.append(item);
  }
  container.append(summary, list);
}

async function testConnection(button) {
  const form = button.closest("form");
  const container = form.querySelector("[data-test-result]");
  const apiKey = form.elements.namedItem("api_key").value;
  const providerId = button.dataset.providerId;
  container.textContent = "Testing…";
  button.disabled = true;
  try {
    let result;
    if (apiKey.trim() === "" && providerId) {
      // Nothing typed on a saved config: test its stored keys where they are used.
      result = await callApi("POST", `/api/v1/providers/${encodeURIComponent(providerId)}/test`, undefined);
    } else {
      const family = form.elements.namedItem("family");
      result = await callApi("POST", "/api/v1/providers/test", {
        family: family ? family.value : button.dataset.family,
        base_url: form.elements.namedItem("base_url").value,
        api_key: apiKey,
      });
    }
    if (!result.ok) showErrors(form, result.data);
    else clearErrors(form);
    renderTestResult(container, result);
  } finally {
    button.disabled = false;
  }
}

// -- one-click actions (disable, remove, revoke, delete) -----------------------------------

async function runAction(button, force) {
  const row = button.closest("[data-row]") || document;
  const slot = row.querySelector("[data-call-result]");
  let url = button.dataset.url;
  if (force) url += (url.includes("?") ? "&" : "?") + "force=true";
  const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
  button.disabled = true;
  try {
    const result = await callApi(button.dataset.method, url, body);
    if (result.ok && button.dataset.then === "show-test") {
      if (slot) renderTestResult(slot, result);
      return;
    }
    if (result.ok) {
      followUp(button.dataset.then, result.data);
      return;
    }
    if (!slot) return;
    slot.replaceChildren();
    const message = document.createElement("span");
    message.className = "error";
    message.textContent = (result.data && result.data.message) || "Something went wrong.";
    slot.append(message);
    // The last usable key: say so, and offer the deliberate way through (a leaked key
    // must always be removable).
    if (result.data && result.data.code === "last_usable_key" && button.dataset.forceLabel) {
      const anyway = document.createElement("button");
      anyway.type = "button";
      anyway.className = "danger";
      anyway.textContent = button.dataset.forceLabel;
      anyway.addEventListener("click", () => runAction(button, true));
      slot.append(" ", anyway);
      anyway.focus();
    }
  } finally {
    button.disabled = false;
  }
}

// -- the key-policy sentence and the family's default base URL -----------------------------

function updatePolicySentence(form) {
  const sentences = JSON.parse(form.dataset.policySentences || "{}");
  const flags = ["central_api_key_enabled", "allow_user_api_key", "allow_central_api_key_fallback"]
    .map((name) => String(form.elements.namedItem(name).checked))
    .join(",");
  const target = form.querySelector("[data-policy-sentence]");
  if (target) target.textContent = sentences[flags] || sentences.invalid || "";
}

function updateFamilyHelp(form) {
  const family = form.elements.namedItem("family");
  const help = form.querySelector("[data-family-help]");
  if (!family || !help || family.tagName !== "SELECT") return;
  const option = family.selectedOptions[0];
  const baseUrl = option ? option.dataset.defaultBaseUrl : "";
  const deploymentKey = option && option.dataset.hasDeploymentKey ? " The deployment provides a key for it." : "";
  help.textContent = baseUrl
    ? `Default base URL: ${baseUrl}.${deploymentKey}`
    : `This family has no default base URL: enter one.${deploymentKey}`;
  const input = form.elements.namedItem("base_url");
  if (input) input.placeholder = baseUrl || "https://…";
}

// -- copying a new token -------------------------------------------------------------------

async function copyFrom(button) {
  const source = document.querySelector(button.dataset.copy);
  const status = document.querySelector("[data-copy-status]");
  source.select();
  try {
    await navigator.clipboard.writeText(source.value);
    if (status) status.textContent = "Copied.";
  } catch {
    if (status) status.textContent = "Copying is blocked here: it is selected, press Ctrl+C (⌘C).";
  }
}

// -- wiring --------------------------------------------------------------------------------

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-api-form]");
  if (!form) return;
  event.preventDefault();
  submitForm(form);
});

document.addEventListener("click", (event) => {
  const test = event.target.closest("[data-test-connection]");
  if (test) {
    testConnection(test);
    return;
  }
  const action = event.target.closest("[data-api-call]");
  if (action) {
    runAction(action, false);
    return;
  }
  const copy = event.target.closest("[data-copy]");
  if (copy) copyFrom(copy);
});

document.addEventListener("change", (event) => {
  const form = event.target.closest && event.target.closest("form[data-api-form]");
  if (!form) return;
  if ("policySwitch" in event.target.dataset) updatePolicySentence(form);
  if (event.target.name === "family") updateFamilyHelp(form);
});

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-api-form]")) {
    rememberInitialValues(form);
    if (form.dataset.policySentences) updatePolicySentence(form);
    updateFamilyHelp(form);
  }
  // The browser's own navigation must not find a stale token on the page.
  for (const section of document.querySelectorAll("[data-new-token]")) section.hidden = true;
});

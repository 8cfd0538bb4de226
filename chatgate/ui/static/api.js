// chatgate UI: calling /api/v1 from the member pages. The session cookie signs the call
// in; the CSRF header proves the page (not another site) sent it. Errors come back in the
// API's own shape {code, message, detail}; showError puts the message next to the field
// the API names (detail.field, or detail[0].field for a 422), else next to `fallback`.

export async function callApi(method, path, body) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { "x-chatgate-csrf": "1", accept: "application/json" },
  };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(path, init);
}

export async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body.message === "string") return body;
  } catch {
    // not JSON: fall through to a generic message
  }
  return { code: "http_error", message: `The server answered ${response.status}.`, detail: null };
}

export function fieldOf(error) {
  const detail = error.detail;
  if (Array.isArray(detail) && detail.length && detail[0].field) return detail[0].field;
  if (detail && typeof detail === "object" && typeof detail.field === "string") return detail.field;
  return null;
}

// The message element of a form field: <p id="<field>-message"> inside `scope`.
export function say(scope, field, text, tone) {
  const target = scope.querySelector(`[id="${CSS.escape(field)}-message"]`);
  if (!target) return false;
  target.textContent = text;
  target.classList.toggle("error", tone === "error");
  target.classList.toggle("ok", tone === "ok");
  return true;
}

export function showError(scope, error, fallback) {
  const field = fieldOf(error);
  if (field && say(scope, field, error.message, "error")) return;
  say(scope, fallback, error.message, "error");
}

// chatgate UI: the little that needs script (served from chatgate, allowed by the CSP).
// Signing out is an API call signed in by the cookie, so it carries the CSRF header.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-sign-out]");
  if (!button) return;
  event.preventDefault();
  await fetch("/api/v1/sessions/current", {
    method: "DELETE",
    headers: { "x-chatgate-csrf": "1" },
    credentials: "same-origin",
  });
  window.location.assign("/ui/sign-in");
});

// The login view: the reviewer pastes their API token; GET /api/me checks it and says who
// they are. Shown whenever this tab has no valid token, whatever the address.

import { ApiError, signIn } from "../api.js";
import { h } from "../dom.js";
import { announce } from "../ui.js";

const WHY = {
  0: "No answer from the server: is screenwise still running?",
  401: "This token is not valid: it is unknown or has been revoked. Check that it was copied whole, or ask an administrator for a new one.",
};

/** ``onSignedIn(me)`` runs once a token is accepted; ``reason`` says why the login shows. */
export function show(main, { onSignedIn, reason = "" }) {
  const status = h("div", { id: "login-status", "aria-live": "polite" });
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "off",
    "aria-describedby": "token-hint",
  });
  const button = h("button", { class: "btn btn-primary", type: "submit" }, "Sign in");
  const form = h(
    "form",
    {
      class: "card form login",
      id: "login-form",
      "aria-labelledby": "login-title",
      novalidate: true,
    },
    h("h1", { id: "login-title" }, "Sign in to screenwise"),
    reason ? h("p", { class: "notice", role: "status" }, reason) : null,
    h("label", { for: "token" }, "API token"),
    input,
    h(
      "p",
      { class: "hint", id: "token-hint" },
      "Your personal token, starting sw_. An administrator creates one with ",
      h("code", null, "screenwise token create NAME"),
      "; ",
      h("code", null, "make run"),
      " prints the local demo's. This tab keeps it until you sign out or close the tab.",
    ),
    status,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.replaceChildren();
    const token = input.value.trim();
    if (!token) {
      status.append(h("p", { class: "error", role: "alert" }, "Paste your API token first."));
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      const who = await signIn(token);
      announce(`Signed in as ${who.name}.`);
      onSignedIn(who);
    } catch (error) {
      const message = error instanceof ApiError ? WHY[error.status] || error.message : WHY[0];
      status.append(h("p", { class: "error", role: "alert" }, message));
      input.select();
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  main.append(h("div", { class: "login-layout" }, form));
  input.focus();
  return {};
}

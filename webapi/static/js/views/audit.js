// #/p/<id>/audit: the project's audit trail (who, when, what), newest first, filtered as the
// maintainer types, with the CSV the API writes as a download.

import { api } from "../api.js";
import { h, plural } from "../dom.js";
import { announce, showError } from "../ui.js";

const PAGE = 200;
const ACTIONS = {
  "project.create": "Project created",
  "project.update": "Settings changed",
  "project.archive": "Project archived",
  "member.set": "Member added or role changed",
  "member.remove": "Member removed",
  import: "Import",
  decision: "Decision",
  "decision.change": "Decision changed",
  resolution: "Conflict resolved",
  train: "Retrained",
  export: "Export",
  "audit.export": "Audit trail downloaded",
};
// Said once per table, not per row: the project is the page's.
const LEFT_OUT = new Set(["project", "project_id", "redacted"]);

function value(v) {
  if (v === null || v === undefined || v === "") return "–";
  if (Array.isArray(v)) return v.length ? v.map(value).join(", ") : "none";
  if (typeof v === "object")
    return Object.entries(v)
      .map(([k, x]) => `${k.replaceAll("_", " ")} ${value(x)}`)
      .join(", ");
  return String(v);
}

function exactly(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso || "";
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

function details(event) {
  const pairs = Object.entries(event.detail || {}).filter(
    ([key, v]) => !LEFT_OUT.has(key) && v !== "" && v !== null,
  );
  return h(
    "td",
    { class: "audit-detail" },
    pairs.map(([key, v]) =>
      h(
        "span",
        { class: "kv" },
        h("span", { class: "k" }, key.replaceAll("_", " ")),
        ` ${value(v)}`,
      ),
    ),
    event.detail && event.detail.redacted
      ? h("span", { class: "kv muted" }, "decision hidden until both reviewers have decided")
      : null,
  );
}

function searchable(event) {
  return [event.actor, event.action, ACTIONS[event.action] || "", JSON.stringify(event.detail)]
    .join(" ")
    .toLowerCase();
}

export async function show(main, { project, alive }) {
  const pid = project.project_id;
  const events = (await api.audit(pid)).reverse();
  if (!alive()) return {};
  const actors = [...new Set(events.map((e) => e.actor))].sort();
  const actions = [...new Set(events.map((e) => e.action))].sort();

  const whoSelect = h(
    "select",
    { id: "audit-who", name: "who" },
    h("option", { value: "" }, "Anyone"),
    actors.map((a) => h("option", { value: a }, a || "(not recorded)")),
  );
  const actionSelect = h(
    "select",
    { id: "audit-action", name: "action" },
    h("option", { value: "" }, "Any action"),
    actions.map((a) => h("option", { value: a }, ACTIONS[a] || a)),
  );
  const textInput = h("input", {
    id: "audit-text",
    name: "text",
    type: "search",
    autocomplete: "off",
  });
  const downloadButton = h(
    "button",
    { type: "button", class: "btn", id: "audit-csv" },
    "Download CSV",
  );
  const form = h(
    "form",
    { class: "card filters", "aria-label": "Filter the audit trail" },
    h("div", { class: "field" }, h("label", { for: "audit-who" }, "Who"), whoSelect),
    h("div", { class: "field" }, h("label", { for: "audit-action" }, "Action"), actionSelect),
    h(
      "div",
      { class: "field grow" },
      h("label", { for: "audit-text" }, "Details contain"),
      textInput,
    ),
    downloadButton,
  );
  const count = h("p", { id: "audit-count", class: "table-count", "aria-live": "polite" });
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Show more");
  let rows = events;
  let shown = 0;

  function row(event) {
    return h(
      "tr",
      { "data-action": event.action },
      h(
        "td",
        { class: "audit-when" },
        h("time", { datetime: event.created_at }, exactly(event.created_at)),
      ),
      h("td", { class: "audit-who" }, event.actor || h("span", { class: "muted" }, "–")),
      h("td", { class: "audit-action" }, ACTIONS[event.action] || event.action),
      details(event),
    );
  }

  function showMore() {
    tbody.append(...rows.slice(shown, shown + PAGE).map(row));
    shown = Math.min(rows.length, shown + PAGE);
    more.hidden = shown >= rows.length;
  }

  function filter() {
    const who = whoSelect.value;
    const action = actionSelect.value;
    const needle = textInput.value.trim().toLowerCase();
    rows = events.filter(
      (e) =>
        (!who || e.actor === who) &&
        (!action || e.action === action) &&
        (!needle || searchable(e).includes(needle)),
    );
    tbody.replaceChildren();
    shown = 0;
    showMore();
    count.textContent =
      rows.length === events.length
        ? `${plural(events.length, "event")}, newest first`
        : `${rows.length.toLocaleString()} of ${plural(events.length, "event")}`;
  }

  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("input", filter);
  form.addEventListener("change", filter);
  more.addEventListener("click", showMore);
  downloadButton.addEventListener("click", async () => {
    downloadButton.disabled = true;
    try {
      announce(`Downloaded ${await api.auditFile(pid)}`);
    } catch (error) {
      showError(error, form);
    } finally {
      downloadButton.disabled = false;
    }
  });

  main.append(
    h("h1", null, `Audit trail · ${project.name}`),
    h(
      "p",
      { class: "hint" },
      "Every import, decision, resolution, retraining, export and change of settings or members, as recorded. Nothing in it is ever changed or deleted.",
    ),
    form,
    h(
      "section",
      { class: "card", "aria-labelledby": "audit-caption" },
      count,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data audit", id: "audit-table" },
          h("caption", { id: "audit-caption", class: "visually-hidden" }, "Audit trail"),
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              ["When", "Who", "Action", "Details"].map((t) => h("th", { scope: "col" }, t)),
            ),
          ),
          tbody,
        ),
      ),
      more,
    ),
  );
  filter();
  return {};
}

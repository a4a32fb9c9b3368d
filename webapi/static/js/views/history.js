// #/p/<id>/history: past decisions, newest first, filterable; a change appends a decision. It
// shows the decisions the API returns to this reviewer: in blind double screening another
// reviewer's only once both have decided.

import { api, reviewer } from "../api.js";
import { h, labelBadge, LABEL_NAMES, plural, when } from "../dom.js";
import { STAGES } from "../ui.js";

const PAGE = 100;

async function titlesOf(pid, recordIds) {
  const titles = new Map();
  for (let offset = 0; ; offset += 1000) {
    const page = await api.records(pid, { status: "screened", limit: 1000, offset });
    for (const r of page.items) titles.set(r.record_id, r.title);
    if (offset + 1000 >= page.total) break;
  }
  // Retracted records are no longer screened: ask for the few that are missing.
  const missing = recordIds.filter((id) => !titles.has(id)).slice(0, 50);
  const records = await Promise.all(missing.map((id) => api.record(pid, id).catch(() => null)));
  for (const r of records) if (r) titles.set(r.record_id, r.title);
  return titles;
}

export async function show(main, { project, params, alive }) {
  const pid = project.project_id;
  const me = reviewer();
  const double = project.mode === "double";
  const who = params.get("who") === "all" ? "all" : "me";
  const label = params.get("label") || "";
  const text = params.get("text") || "";

  const whoSelect = h(
    "select",
    { id: "history-who", name: "who" },
    h("option", { value: "me", selected: who === "me" }, `Mine (${me})`),
    h(
      "option",
      { value: "all", selected: who === "all" },
      double ? "Everyone's I may see" : "Everyone's",
    ),
  );
  const labelSelect = h(
    "select",
    { id: "history-label", name: "label" },
    h("option", { value: "" }, "Any decision"),
    Object.entries(LABEL_NAMES).map(([value, name]) =>
      h("option", { value, selected: value === label }, name),
    ),
  );
  const textInput = h("input", {
    id: "history-text",
    name: "text",
    type: "search",
    value: text,
    autocomplete: "off",
  });
  const form = h(
    "form",
    { class: "card filters", "aria-label": "Filter the history" },
    h("div", { class: "field" }, h("label", { for: "history-who" }, "Decisions"), whoSelect),
    h(
      "div",
      { class: "field" },
      h("label", { for: "history-label" }, "Current decision"),
      labelSelect,
    ),
    h(
      "div",
      { class: "field grow" },
      h("label", { for: "history-text" }, "Title contains"),
      textInput,
    ),
    h("button", { class: "btn", type: "submit" }, "Filter"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams({
      who: whoSelect.value,
      label: labelSelect.value,
      text: textInput.value.trim(),
    });
    window.location.hash = `#/p/${pid}/history?${query}`;
  });
  const list = h(
    "section",
    { id: "history-list", "aria-labelledby": "history-count" },
    h("p", { class: "muted" }, "Loading…"),
  );
  main.append(
    h("h1", null, `History · ${project.name}`),
    h(
      "p",
      { class: "hint" },
      "Decisions are never overwritten: a change appends a new decision and the earlier ones stay in the record's history.",
    ),
    form,
    list,
  );

  const decisions = await api.decisions(pid, who === "me" ? { reviewer: me } : {});
  // One row per record and stage: its newest decision, with the ones before it. In double
  // screening each reviewer's decisions are their own line of history (two reviewers decide
  // each record), and a resolution is the resolver's.
  const byRecord = new Map();
  for (const d of decisions) {
    if (d.origin === "prior") continue;
    const key = double ? `${d.record_id}:${d.stage}:${d.reviewer}` : `${d.record_id}:${d.stage}`;
    if (!byRecord.has(key)) byRecord.set(key, []);
    byRecord.get(key).push(d);
  }
  const titles = await titlesOf(pid, [...new Set(decisions.map((d) => d.record_id))]);
  if (!alive()) return {};
  const needle = text.toLowerCase();
  const rows = [...byRecord.values()]
    .map((history) => ({ history, last: history[history.length - 1] }))
    .filter(({ last }) => !label || last.label === label)
    .filter(
      ({ last }) => !needle || (titles.get(last.record_id) || "").toLowerCase().includes(needle),
    )
    .sort((a, b) => b.last.decision_id - a.last.decision_id);

  const total = rows.length;
  const body = h("ol", { class: "history" });
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Show more");
  let shown = 0;
  function showMore() {
    for (const { history, last } of rows.slice(shown, shown + PAGE)) {
      const title = titles.get(last.record_id) || `Record ${last.record_id}`;
      const earlier = history.slice(0, -1);
      body.append(
        h(
          "li",
          { class: "card history-row", "data-record-id": last.record_id },
          h(
            "div",
            { class: "history-main" },
            labelBadge(last.label),
            h("span", { class: "history-title" }, title),
          ),
          h(
            "p",
            { class: "history-meta" },
            `${when(last.created_at)} · ${last.reviewer}`,
            last.origin === "resolution" ? " · resolution" : "",
            ` · ${STAGES[last.stage] || last.stage}`,
            last.reason ? ` · ${last.reason}` : "",
            last.note ? ` · Note: ${last.note}` : "",
          ),
          earlier.length
            ? h(
                "p",
                { class: "history-earlier" },
                "Earlier: ",
                earlier
                  .map((d) => `${LABEL_NAMES[d.label]} (${d.reviewer}, ${when(d.created_at)})`)
                  .join(" → "),
              )
            : null,
          // In double screening a reviewer changes only their own decision (until the
          // record is final); a resolver changes a final one in the conflicts view.
          !double || (last.reviewer === me && last.origin === "screen")
            ? h(
                "a",
                {
                  class: "btn btn-small",
                  href: `#/p/${pid}/screen/${last.record_id}?from=history&stage=${last.stage}`,
                  "aria-label": `Change the decision on ${title}`,
                },
                "Change",
              )
            : null,
        ),
      );
    }
    shown = Math.min(rows.length, shown + PAGE);
    more.hidden = shown >= rows.length;
  }
  more.addEventListener("click", showMore);
  showMore();
  list.replaceChildren(
    h(
      "h2",
      { id: "history-count" },
      `${plural(total, "record")}${who === "me" ? ` decided by ${me}` : ""}`,
    ),
    total ? body : h("p", { class: "muted" }, "No decision matches."),
    more,
  );
  return {};
}

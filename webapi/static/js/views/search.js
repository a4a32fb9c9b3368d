// #/p/<id>/search?q=...&filter=...: records nearest to a question, with their scores.

import { api } from "../api.js";
import { h, highlight, labelBadge, plural, termsOf } from "../dom.js";
import { STUDY_TYPES } from "../record.js";
import { announce } from "../ui.js";

const FILTERS = {
  all: "All records",
  unscreened: "Unscreened",
  screened: "Screened",
  included: "Included",
  excluded: "Excluded",
};

export async function show(main, { project, params, alive }) {
  const pid = project.project_id;
  const q = params.get("q") || "";
  const filter = FILTERS[params.get("filter")] ? params.get("filter") : "all";
  const studyType = STUDY_TYPES[params.get("study_type")] ? params.get("study_type") : "";
  const facets = await api.studyTypes(pid);
  if (!alive()) return {};
  const counted = Object.fromEntries(facets.map((f) => [f.study_type, f.records]));
  const k = Number(params.get("k")) || 20;
  const input = h("input", {
    id: "search-q",
    name: "q",
    type: "search",
    value: q,
    required: true,
    maxlength: 2000,
    "aria-keyshortcuts": "/",
    autocomplete: "off",
  });
  const select = h(
    "select",
    { id: "search-filter", name: "filter" },
    Object.entries(FILTERS).map(([value, text]) =>
      h("option", { value, selected: value === filter }, text),
    ),
  );
  const typeSelect = h(
    "select",
    { id: "search-study-type", name: "study_type" },
    h("option", { value: "", selected: !studyType }, "Any study type"),
    Object.entries(STUDY_TYPES).map(([value, text]) =>
      h(
        "option",
        { value, selected: value === studyType },
        `${text} (${counted[value] ?? 0})`,
      ),
    ),
  );
  const results = h("section", {
    id: "search-results",
    "aria-live": "polite",
    "aria-labelledby": "results-title",
  });
  const form = h(
    "form",
    { class: "card search-form", role: "search", "aria-label": "Search this project" },
    h("div", { class: "field grow" }, h("label", { for: "search-q" }, "Question"), input),
    h("div", { class: "field" }, h("label", { for: "search-filter" }, "Among"), select),
    h("div", { class: "field" }, h("label", { for: "search-study-type" }, "Study type"), typeSelect),
    h("button", { class: "btn btn-primary", type: "submit" }, "Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) {
      input.focus();
      return;
    }
    const query = new URLSearchParams({ q: value, filter: select.value });
    if (typeSelect.value) query.set("study_type", typeSelect.value);
    window.location.hash = `#/p/${pid}/search?${query}`;
  });
  main.append(
    h("h1", null, `Search · ${project.name}`),
    h(
      "p",
      { class: "hint" },
      "Ask in plain words; records are ranked by meaning, not only by matching words.",
    ),
    form,
    results,
  );
  if (params.get("focus") || !q) input.focus();
  if (!q) return {};

  results.append(h("p", { class: "muted" }, "Searching…"));
  const hits = await api.search(pid, studyType ? { q, k, filter, study_type: studyType } : { q, k, filter });
  if (!alive()) return {};
  const terms = termsOf(q);
  // A record opened from here links back to these results (and comes back after a decision).
  const backTo = new URLSearchParams({ from: "search", q, filter });
  results.replaceChildren(
    h("h2", { id: "results-title" }, `${plural(hits.length, "record")} nearest to “${q}”`),
    hits.length
      ? h(
          "ol",
          { class: "hits" },
          hits.map((hit) =>
            h(
              "li",
              { class: "card hit" },
              h(
                "div",
                { class: "hit-score", "aria-label": `Score ${hit.score.toFixed(2)}` },
                h("span", { class: "score-value", "aria-hidden": "true" }, hit.score.toFixed(2)),
                h(
                  "span",
                  { class: "score-bar", "aria-hidden": "true" },
                  h("span", {
                    class: `fill fill-${Math.max(0, Math.min(10, Math.round(hit.score * 10)))}`,
                  }),
                ),
              ),
              h(
                "div",
                { class: "hit-body" },
                h(
                  "a",
                  {
                    class: "hit-title",
                    href: `#/p/${pid}/screen/${hit.record_id}?${backTo}`,
                  },
                  highlight(hit.title || `Record ${hit.record_id}`, terms),
                ),
                h(
                  "p",
                  { class: "hit-meta" },
                  hit.year ? `${hit.year} · ` : "",
                  hit.study_type
                    ? h("span", { class: "study-type" }, `${STUDY_TYPES[hit.study_type]} · `)
                    : "",
                  labelBadge(hit.decision),
                ),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, "No record matches."),
  );
  announce(`${plural(hits.length, "result")}.`);
  return {};
}

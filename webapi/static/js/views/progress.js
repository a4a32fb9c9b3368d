// #/p/<id>/progress: where screening stands, the recall curve, the estimate of what is left.

import { api } from "../api.js";
import { h, percent, plural } from "../dom.js";
import { chartLegend, curveTable, recallChart } from "../chart.js";

function stat(id, label, value, detail) {
  return h(
    "div",
    { class: "card stat" },
    h("dt", null, label),
    h("dd", { id }, value),
    detail ? h("dd", { class: "stat-detail" }, detail) : null,
  );
}

function table(caption, headers, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data" },
      h("caption", null, caption),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          headers.map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h(
        "tbody",
        null,
        rows.map((cells) =>
          h(
            "tr",
            null,
            cells.map((c, i) =>
              i
                ? h("td", { class: typeof c === "number" ? "num" : null }, c)
                : h("th", { scope: "row" }, c),
            ),
          ),
        ),
      ),
    ),
  );
}

/** The screening flow, PRISMA-style: from records identified to decisions. */
function flow(progress) {
  const row = (label, value, sub = false) =>
    h(
      "li",
      { class: sub ? "sub" : null },
      h("span", null, label),
      h("span", { class: "num" }, value.toLocaleString()),
    );
  return h(
    "section",
    { class: "card flow", "aria-labelledby": "flow-title" },
    h("h2", { id: "flow-title" }, "Screening flow"),
    h(
      "ol",
      null,
      row("Records identified", progress.identified),
      row("Duplicates removed", progress.duplicates, true),
      row("Records to screen", progress.records),
      row("without title or abstract", progress.without_text, true),
      row("Screened", progress.screened),
      row("Included", progress.included, true),
      row("Excluded", progress.excluded, true),
      row("Maybe", progress.maybe, true),
      row("Not screened yet", progress.unscreened),
    ),
  );
}

export async function show(main, { project, alive }) {
  const pid = project.project_id;
  const progress = await api.progress(pid);
  if (!alive()) return {};
  const estimate = progress.estimate;
  const share = progress.records ? progress.screened / progress.records : 0;
  const remaining =
    estimate.expected === null
      ? stat(
          "stat-remaining",
          "Relevant records left (estimate)",
          "—",
          "Appears once one record is included and one excluded.",
        )
      : stat(
          "stat-remaining",
          "Relevant records left (estimate)",
          `≈ ${estimate.expected.toFixed(1)}`,
          `95\u00a0% interval ${estimate.low.toFixed(1)}–${estimate.high.toFixed(1)} among ${plural(estimate.unscreened, "unscreened record")}` +
            (estimate.estimated_recall !== null
              ? `; recall so far ≈ ${percent(estimate.estimated_recall)}`
              : ""),
        );
  const screenedBar = h("progress", {
    max: Math.max(progress.records, 1),
    value: progress.screened,
    "aria-label": "Share of records screened",
  });
  const reasons = Object.entries(progress.excluded_by_reason).sort((a, b) => b[1] - a[1]);
  main.append(
    h("h1", null, `Progress · ${project.name}`),
    h(
      "dl",
      { class: "stat-grid" },
      stat(
        "stat-screened",
        "Screened",
        `${progress.screened.toLocaleString()} / ${progress.records.toLocaleString()}`,
        h("span", null, screenedBar, ` ${percent(share)}`),
      ),
      stat(
        "stat-included",
        "Included",
        progress.included.toLocaleString(),
        `${plural(progress.excluded, "exclude")}, ${progress.maybe} maybe`,
      ),
      remaining,
      stat(
        "stat-identified",
        "Identified",
        progress.identified.toLocaleString(),
        `${plural(progress.duplicates, "duplicate")} removed; ${progress.without_text} without text`,
      ),
    ),
    h(
      "div",
      { class: "chart-layout" },
      h(
        "section",
        { class: "card chart-card", "aria-labelledby": "curve-title" },
        h("h2", { id: "curve-title" }, "Recall curve"),
        h(
          "p",
          { class: "hint" },
          "Included records found as screening goes on. A curve that rises early and then flattens means the ranking puts relevant records first.",
        ),
        recallChart(progress, { width: main.clientWidth - 48 }),
        chartLegend(progress),
        curveTable(progress),
      ),
      flow(progress),
    ),
    h(
      "div",
      { class: "tables" },
      h(
        "section",
        { class: "card wide" },
        table(
          "Sources",
          ["File", "Format", "Read", "Added", "Duplicates"],
          progress.sources.map((s) => [s.filename, s.format, s.read, s.added, s.duplicates]),
        ),
      ),
      h(
        "section",
        { class: "card", "aria-label": "Exclusion reasons" },
        reasons.length
          ? table("Exclusion reasons", ["Reason", "Records"], reasons)
          : [
              h("h2", { class: "table-title" }, "Exclusion reasons"),
              h("p", { class: "muted" }, "No exclusion reason given yet."),
            ],
      ),
      progress.themes.length
        ? h(
            "section",
            { class: "card" },
            table(
              "Themes",
              ["Theme", "Labelled", "Included"],
              progress.themes.map((t) => [t.theme, t.labelled, t.included]),
            ),
          )
        : null,
    ),
  );
  return {};
}

// #/p/<id>/progress: where screening stands, the recall curve, the estimate of what is left,
// both stages with the reviewers' agreement, and the PRISMA 2020 flow diagram.

import { api } from "../api.js";
import { h, percent, plural } from "../dom.js";
import { chartLegend, curveTable, recallChart } from "../chart.js";
import { announce, estimateWords, showError, STAGES } from "../ui.js";

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
      // Excluded before screening by the protocol's search limits (PRISMA: other reasons).
      progress.removed_outside_limits
        ? row("Outside the search limits, removed", progress.removed_outside_limits, true)
        : null,
      row("Records to screen", toScreen(progress)),
      row("without title or abstract", progress.without_text, true),
      row("Screened", progress.screened),
      row("Included", progress.included, true),
      row("Excluded", progress.excluded, true),
      row("Maybe", progress.maybe, true),
      row("Not screened yet", progress.unscreened),
    ),
  );
}

/** Records to screen at title/abstract: after duplicates and records outside the limits. */
function toScreen(progress) {
  return progress.records - (progress.removed_outside_limits || 0);
}

/** Both stages side by side: final counts and, in double screening, how the team is doing. */
function stagesTable(progress) {
  const double = progress.mode === "double";
  const fixed = (v, digits) => (v === null || v === undefined ? "–" : v.toFixed(digits));
  const rows = [
    ["eligible", "Records to screen", (s) => s.eligible],
    ["screened", double ? "Final decisions" : "Screened", (s) => s.screened],
    ["included", "Included", (s) => s.included],
    ["excluded", "Excluded", (s) => s.excluded],
    ["maybe", "Maybe", (s) => s.maybe],
  ];
  if (double) {
    rows.push(
      ["conflicts", "In conflict", (s) => s.conflicts],
      ["awaiting_second", "Awaiting a second decision", (s) => s.awaiting_second],
      ["mine", "Your decisions", (s) => (s.mine ? s.mine.screened : 0)],
      ["pairs", "Decided by two reviewers", (s) => s.agreement.pairs],
      [
        "percent_agreement",
        "Agreement",
        (s) =>
          s.agreement.percent_agreement === null
            ? "–"
            : `${fixed(s.agreement.percent_agreement, 1)} %`,
      ],
      ["kappa", "Cohen's kappa", (s) => fixed(s.agreement.kappa, 2)],
    );
  }
  return h(
    "section",
    { class: "card", "aria-labelledby": "stages-title" },
    h("h2", { id: "stages-title" }, double ? "Stages and agreement" : "Stages"),
    double
      ? h(
          "p",
          { class: "hint" },
          "Agreement compares each pair of independent decisions as both reviewers first made them; Cohen's kappa corrects it for agreement by chance. Counts are of final decisions, and of your own: nobody else's pending decision shows here.",
        )
      : null,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data", id: "stages-table" },
        h("caption", { class: "visually-hidden" }, "Stages"),
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Count")),
            Object.values(STAGES).map((t) => h("th", { scope: "col", class: "num" }, t)),
          ),
        ),
        h(
          "tbody",
          null,
          rows.map(([field, label, get]) =>
            h(
              "tr",
              { "data-field": field },
              h("th", { scope: "row" }, label),
              Object.keys(STAGES).map((stage) =>
                h(
                  "td",
                  { class: "num", "data-stage": stage },
                  (() => {
                    const v = get(progress.stages[stage]);
                    return typeof v === "number" ? v.toLocaleString() : v;
                  })(),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function prismaAlt(counts) {
  return (
    `PRISMA 2020 flow diagram: ${counts.identified} records identified, ` +
    `${counts.duplicates_removed} duplicates removed, ${counts.screened} records screened, ` +
    `${counts.screening_excluded} excluded, ${counts.screening_maybe} marked maybe, ` +
    `${counts.awaiting_screening} awaiting screening, ${counts.sought_for_retrieval} reports sought, ` +
    `${counts.not_retrieved} not retrieved, ${counts.assessed} assessed, ` +
    `${counts.included} studies included.`
  );
}

/**
 * The PRISMA diagram as an <img> of the SVG the API draws, fetched with the token and shown
 * from a blob: URL (the Content-Security-Policy allows blob: images and nothing more). An SVG
 * shown as an image runs no script and loads nothing, and its markup never enters the page.
 */
function prismaCard(project, counts, image) {
  const buttons = ["svg", "png"].map((format) =>
    h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        "data-prisma": format,
        onclick: async (event) => {
          const button = event.currentTarget;
          button.disabled = true;
          try {
            announce(
              `Downloaded ${await api.prismaFile(project.project_id, format, project.name)}`,
            );
          } catch (error) {
            showError(error, card);
          } finally {
            button.disabled = false;
          }
        },
      },
      `Download ${format.toUpperCase()}`,
    ),
  );
  const rows = [
    ["Records identified", counts.identified],
    ["Duplicates removed", counts.duplicates_removed],
    ["Records screened", counts.screened],
    ["Records excluded", counts.screening_excluded],
    ["Marked maybe", counts.screening_maybe],
    ["Awaiting screening", counts.awaiting_screening],
    ["Reports sought for retrieval", counts.sought_for_retrieval],
    ["Reports not retrieved", counts.not_retrieved],
    ["Reports assessed", counts.assessed],
    ...Object.entries(counts.fulltext_excluded).map(([reason, n]) => [
      `Excluded: ${reason || "no reason given"}`,
      n,
    ]),
    ["Studies included", counts.included],
  ];
  const card = h(
    "section",
    { class: "card prisma", id: "prisma", "aria-labelledby": "prisma-title" },
    h(
      "div",
      { class: "card-head" },
      h("h2", { id: "prisma-title" }, "PRISMA 2020 flow diagram"),
      h("div", { class: "card-actions" }, buttons),
    ),
    h(
      "figure",
      { class: "prisma-figure" },
      h("img", { id: "prisma-image", src: image, alt: prismaAlt(counts), width: 820 }),
    ),
    h(
      "details",
      // Open where the diagram is too small to read: a phone's screen.
      { class: "curve-table", open: window.matchMedia("(max-width: 640px)").matches },
      h("summary", null, "The diagram's numbers as a table"),
      h(
        "table",
        { class: "data" },
        h("caption", { class: "visually-hidden" }, "PRISMA 2020 counts"),
        h(
          "tbody",
          null,
          rows.map(([label, n]) =>
            h("tr", null, h("th", { scope: "row" }, label), h("td", { class: "num" }, n)),
          ),
        ),
      ),
    ),
  );
  return card;
}

export async function show(main, { project, alive }) {
  const pid = project.project_id;
  const [progress, prisma, svgImage] = await Promise.all([
    api.progress(pid),
    api.prisma(pid),
    api.prismaImage(pid),
  ]);
  const image = URL.createObjectURL(svgImage);
  const dispose = () => URL.revokeObjectURL(image);
  if (!alive()) {
    dispose();
    return {};
  }
  const double = progress.mode === "double";
  const mine = progress.mine;
  const estimate = progress.estimate;
  const share = toScreen(progress) ? progress.screened / toScreen(progress) : 0;
  const words = estimateWords(estimate);
  const remaining = stat(
    "stat-remaining",
    "Relevant records left (estimate)",
    h(
      "span",
      { class: "estimate", "data-ready": words.ready ? "true" : "false" },
      h("span", { class: "estimate-value", id: "estimate-value" }, words.value),
      words.interval
        ? h("span", { class: "estimate-interval", id: "estimate-interval" }, words.interval)
        : null,
    ),
    h(
      "span",
      { id: "estimate-howto" },
      words.howTo,
      words.ready && estimate.estimated_recall !== null
        ? ` Recall so far ≈\u00a0${percent(estimate.estimated_recall)}.`
        : "",
    ),
  );
  const screenedBar = h("progress", {
    max: Math.max(toScreen(progress), 1),
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
        `${progress.screened.toLocaleString()} / ${toScreen(progress).toLocaleString()}`,
        h("span", null, screenedBar, ` ${percent(share)}`),
      ),
      stat(
        "stat-included",
        "Included",
        progress.included.toLocaleString(),
        `${plural(progress.excluded, "exclude")}, ${progress.maybe} maybe`,
      ),
      remaining,
      // When to stop: classifier/stopping.py's test, computed by the progress report.
      ((s) => {
        const p = `p = ${s.p_value.toPrecision(2)}`;
        if (s.may_stop)
          return stat(
            "stat-stopping",
            "When to stop",
            `You may stop: recall ≥ ${percent(s.recall_target)} with ${percent(s.level)} confidence`,
            `A test on the recent decisions (${p}): had less than ${percent(s.recall_target)} of the relevant records been found, so few includes among them would be unlikely.`,
          );
        if (s.more_to_screen === null)
          return stat(
            "stat-stopping",
            "When to stop",
            "Not yet: no include found so far",
            "The stopping test speaks about recall once a record is included.",
          );
        return stat(
          "stat-stopping",
          "When to stop",
          `Not yet: screen about ${s.more_to_screen.toLocaleString()} more`,
          `That many excludes in a row would let the test pass (now ${p}, needs below ${(1 - s.level).toFixed(2)}); each include found adds to it.`,
        );
      })(progress.stopping),
      double
        ? stat(
            "stat-agreement",
            "Agreement (title/abstract)",
            progress.agreement.percent_agreement === null
              ? "—"
              : `${progress.agreement.percent_agreement.toFixed(1)} %`,
            progress.agreement.pairs
              ? `Cohen's κ ${progress.agreement.kappa.toFixed(2)} over ${plural(progress.agreement.pairs, "pair")}; ${plural(progress.conflicts, "conflict")}, ${progress.awaiting_second} awaiting a second decision; yours: ${mine.screened}`
              : `No record decided by two reviewers yet; yours: ${mine.screened}`,
          )
        : stat(
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
    h("div", { class: "team-layout" }, stagesTable(progress), prismaCard(project, prisma, image)),
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
  return { dispose };
}

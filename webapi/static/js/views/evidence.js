// #/p/<id>/evidence?by=study_type|year: the evidence map, included records counted by theme
// and study type (or year), as a table and as the heat map the API draws, with CSV, SVG and
// PNG downloads and the per-theme counts as a review reports them.

import { api } from "../api.js";
import { h, plural } from "../dom.js";
import { announce, showError } from "../ui.js";

const BY = { study_type: "Study type", year: "Year" };
const STAGES = { title_abstract: "title/abstract", full_text: "full text" };

function mapTable(data) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data evidence-table", id: "evidence-table" },
      h(
        "caption",
        null,
        `Included records by theme and ${BY[data.by].toLowerCase()} ` +
          "(a record with several themes counts under each)",
      ),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { scope: "col" }, "Theme"),
          data.column_labels.map((label) => h("th", { scope: "col", class: "num" }, label)),
          h("th", { scope: "col", class: "num" }, "Total"),
        ),
      ),
      h(
        "tbody",
        null,
        data.rows.map((row) =>
          h(
            "tr",
            { "data-theme": row.theme },
            h("th", { scope: "row" }, row.theme),
            row.counts.map((n) => h("td", { class: "num" }, n)),
            h("td", { class: "num total" }, row.total),
          ),
        ),
      ),
      h(
        "tfoot",
        null,
        h(
          "tr",
          null,
          h("th", { scope: "row" }, "All included records"),
          data.column_totals.map((n) => h("td", { class: "num" }, n)),
          h("td", { class: "num total" }, data.included),
        ),
      ),
    ),
  );
}

function downloadButtons(project, by, card) {
  return ["csv", "svg", "png"].map((format) =>
    h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        "data-evidence": format,
        onclick: async (event) => {
          const button = event.currentTarget;
          button.disabled = true;
          try {
            const name = await api.evidenceFile(project.project_id, { by, format }, project.name);
            announce(`Downloaded ${name}`);
          } catch (error) {
            showError(error, card());
          } finally {
            button.disabled = false;
          }
        },
      },
      `Download ${format.toUpperCase()}`,
    ),
  );
}

export async function show(main, { project, params, alive }) {
  const pid = project.project_id;
  const by = BY[params.get("by")] ? params.get("by") : "study_type";
  const [data, svg] = await Promise.all([
    api.evidenceMap(pid, { by }),
    api.evidenceImage(pid, { by }),
  ]);
  // The heat map is an <img> of the API's SVG from a blob: URL, like the PRISMA diagram.
  const image = URL.createObjectURL(svg);
  const dispose = () => URL.revokeObjectURL(image);
  if (!alive()) {
    dispose();
    return {};
  }
  const switcher = h(
    "nav",
    { class: "view-switch", "aria-label": "Columns of the map" },
    Object.entries(BY).map(([key, label]) =>
      h(
        "a",
        {
          class: "btn btn-small",
          href: `#/p/${pid}/evidence?by=${key}`,
          "aria-current": key === by ? "page" : null,
        },
        `By ${label.toLowerCase()}`,
      ),
    ),
  );
  let card = null;
  const summary = data.rows.filter((row) => row.theme !== "(no theme)");
  card = h(
    "section",
    { class: "card evidence", id: "evidence", "aria-labelledby": "evidence-title" },
    h(
      "div",
      { class: "card-head" },
      h("h2", { id: "evidence-title" }, `By theme and ${BY[by].toLowerCase()}`),
      h("div", { class: "card-actions" }, downloadButtons(project, by, () => card)),
    ),
    h(
      "p",
      { class: "hint", id: "evidence-stage" },
      `${plural(data.included, "included record")} (final includes at ` +
        `${STAGES[data.stage]}).`,
    ),
    summary.length
      ? h(
          "p",
          { id: "evidence-summary" },
          h("strong", null, "Per theme: "),
          data.summary,
        )
      : h("p", { class: "muted" }, "No theme labels on the included records yet."),
    mapTable(data),
    h(
      "figure",
      { class: "evidence-figure" },
      h("img", {
        id: "evidence-image",
        src: image,
        alt:
          `Heat map of included records by theme and ${BY[by].toLowerCase()}: ` +
          data.theme_counts.join(", "),
      }),
    ),
  );
  main.append(h("h1", null, `Evidence map · ${project.name}`), switcher, card);
  announce(`Evidence map: ${plural(data.included, "included record")}.`);
  return { dispose };
}

// The protocol's search and its limits, on the settings view (maintainers): the search
// string, years from/to and languages; how the records stand against the limits; and the one
// action that excludes the unscreened records outside them ("outside search limits", removed
// before screening in the PRISMA diagram).

import { request } from "../api.js";
import { h, plural } from "../dom.js";
import { announce, rememberProject, showError } from "../ui.js";

const limitsPath = (pid) => `/projects/${pid}/limits`;

function field(id, label, input, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

function summaryLine(report) {
  if (!report.active)
    return "No limits: every record is within. Set years or languages to flag the records outside them.";
  const unknown = report.unknown
    ? ` ${plural(report.unknown, "record")} do not give the year or language a limit needs: they are not outside and stay to be screened.`
    : "";
  return (
    `${plural(report.records, "record")}: ${report.within} within the search limits, ` +
    `${report.outside} outside (${report.removed} removed before screening, ` +
    `${report.screened} screened by reviewers, who keep their decisions).${unknown}`
  );
}

function actionBanner(report, onApply) {
  const parts = [];
  if (report.to_exclude)
    parts.push(`${plural(report.to_exclude, "record")} outside the search limits`);
  if (report.to_restore)
    parts.push(`${plural(report.to_restore, "exclusion")} the limits no longer justify`);
  if (!parts.length) return null;
  const label = report.to_exclude
    ? `Exclude ${plural(report.to_exclude, "record")}` +
      (report.to_restore ? ` and withdraw ${report.to_restore}` : "")
    : `Withdraw ${plural(report.to_restore, "exclusion")}`;
  const button = h(
    "button",
    { type: "button", class: "btn btn-primary", id: "apply-limits" },
    label,
  );
  button.addEventListener("click", () => onApply(button));
  return h(
    "div",
    { class: "notice", id: "limits-banner", role: "status" },
    h(
      "p",
      null,
      `${parts.join(" and ")}: nobody has screened them. ` +
        `They are excluded with the reason “${report.reason}” and counted as removed before screening.`,
    ),
    button,
  );
}

/** The "Search and limits" card of the settings view. */
export function limitsSection(ctx) {
  const pid = ctx.project.project_id;
  const protocol = ctx.project.settings.protocol || {};
  const out = h("div", { class: "form-status", "aria-live": "polite" });
  const summary = h("p", { id: "limits-summary" }, "Reading the records…");
  const banner = h("div", { id: "limits-action" });

  async function refresh() {
    try {
      const report = await request("GET", limitsPath(pid));
      summary.textContent = summaryLine(report);
      banner.replaceChildren(actionBanner(report, apply) || "");
    } catch (error) {
      showError(error, out);
    }
  }

  async function apply(button) {
    button.disabled = true;
    try {
      const result = await request("POST", `${limitsPath(pid)}/apply`);
      const said =
        `Excluded ${plural(result.excluded, "record")} as “${result.reason}”` +
        (result.restored ? `, withdrew ${plural(result.restored, "exclusion")}` : "") +
        `; ${result.removed} removed before screening in all.`;
      out.replaceChildren(h("p", { class: "success", role: "status" }, said));
      announce(said);
      await refresh();
    } catch (error) {
      out.replaceChildren();
      showError(error, out);
      button.disabled = false;
    }
  }

  const search = h(
    "textarea",
    { id: "protocol-search", name: "search_string", rows: 3, "aria-describedby": "protocol-search-hint" },
    protocol.search_string || "",
  );
  // One database's search per line: "MEDLINE | 2024-05-01 | string" (PRISMA-S item 8).
  const searches = h(
    "textarea",
    { id: "protocol-searches", rows: 3, "aria-describedby": "protocol-searches-hint" },
    (protocol.searches || []).map((s) => `${s.database} | ${s.date} | ${s.string}`).join("\n"),
  );
  const yearInput = (id, value) =>
    h("input", { id, type: "number", min: 1000, max: 2100, step: 1, value: value ?? "" });
  const from = yearInput("protocol-years-from", protocol.years_from);
  const to = yearInput("protocol-years-to", protocol.years_to);
  const languages = h("input", {
    id: "protocol-languages",
    type: "text",
    value: (protocol.languages || []).join(", "),
    "aria-describedby": "protocol-languages-hint",
    spellcheck: "false",
  });
  const button = h("button", { class: "btn btn-primary", type: "submit" }, "Save search and limits");
  const form = h(
    "form",
    { id: "protocol-form" },
    field("protocol-search", "Search string", search, "As run; it is kept with the project for the report."),
    field(
      "protocol-searches",
      "Searches per database (optional)",
      searches,
      "One per line: database | date searched (YYYY-MM-DD) | the string run there.",
    ),
    h(
      "div",
      { class: "filters" },
      field("protocol-years-from", "Years from", from),
      field("protocol-years-to", "Years to", to),
      h(
        "div",
        { class: "field grow" },
        h("label", { for: "protocol-languages" }, "Languages"),
        languages,
        h(
          "p",
          { class: "hint", id: "protocol-languages-hint" },
          "Names or ISO 639 codes, separated by commas (English, fre). Empty: any language.",
        ),
      ),
    ),
    out,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const year = (input) => (input.value.trim() ? Number(input.value) : null);
    const body = {
      search_string: search.value,
      searches: searches.value
        .split("\n")
        .filter((line) => line.trim())
        .map((line) => {
          const [database = "", date = "", ...rest] = line.split("|").map((p) => p.trim());
          return { database, date, string: rest.join(" | ") };
        }),
      years_from: year(from),
      years_to: year(to),
      languages: languages.value
        .split(/[,;]/)
        .map((l) => l.trim())
        .filter(Boolean),
    };
    button.disabled = true;
    try {
      const updated = await request("PATCH", `/projects/${pid}`, { json: { protocol: body } });
      rememberProject(updated);
      ctx.project = updated;
      const saved = updated.settings.protocol || {};
      languages.value = (saved.languages || []).join(", ");
      out.replaceChildren(h("p", { class: "success", role: "status" }, "Saved the search and its limits."));
      announce("Search and limits saved.");
      await refresh();
    } catch (error) {
      out.replaceChildren();
      showError(error, out);
    } finally {
      button.disabled = false;
    }
  });
  refresh();
  return h(
    "section",
    { class: "card settings-card", id: "settings-limits", "aria-labelledby": "settings-limits-title" },
    h("h2", { id: "settings-limits-title" }, "Search and limits"),
    form,
    summary,
    banner,
  );
}

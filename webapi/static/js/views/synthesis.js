// #/p/<id>/synthesis: themes discovered in the included records (proposals a maintainer
// accepts, renames or merges) and each theme's representative records, with the final
// selection a maintainer marks.

import { request } from "../api.js";
import { h, plural } from "../dom.js";
import { announce, can, loadProject, showError } from "../ui.js";

const FILTERS = {
  included: "Included records",
  all: "All records",
  screened: "Screened",
  unscreened: "Unscreened",
  excluded: "Excluded",
};

export async function show(main, { project, alive }) {
  const pid = project.project_id;
  const maintainer = can(project, "maintainer");
  const base = `/projects/${pid}`;

  // -- proposals ------------------------------------------------------------------------
  const filter = h(
    "select",
    { id: "discover-filter", name: "filter" },
    Object.entries(FILTERS).map(([value, text]) => h("option", { value }, text)),
  );
  const stage = h(
    "select",
    { id: "discover-stage", name: "stage" },
    h("option", { value: "title_abstract" }, "Title/abstract"),
    h("option", { value: "full_text" }, "Full text"),
  );
  stage.addEventListener("change", () => loadPicks());
  const proposalsBox = h("div", { id: "proposals", "aria-live": "polite" });
  const discover = h(
    "button",
    { class: "btn btn-primary", type: "button", id: "discover" },
    "Propose themes",
  );
  discover.addEventListener("click", () => loadProposals());

  async function loadProposals() {
    discover.disabled = true;
    proposalsBox.replaceChildren(h("p", { class: "muted" }, "Finding themes…"));
    try {
      const found = await request("GET", `${base}/themes/proposals`, {
        query: { filter: filter.value, stage: stage.value },
      });
      if (!alive()) return;
      renderProposals(found);
      announce(`${plural(found.proposals.length, "proposed theme")}.`);
    } catch (error) {
      proposalsBox.replaceChildren();
      showError(error, proposalsBox);
    } finally {
      discover.disabled = false;
    }
  }

  function renderProposals(found) {
    const cards = found.proposals.map((p) => {
      const name = h("input", {
        type: "text",
        class: "proposal-name",
        value: p.name,
        maxlength: 200,
        "aria-label": `Name for proposal ${p.proposal_id + 1}`,
      });
      const pick = h("input", {
        type: "checkbox",
        class: "proposal-pick",
        "aria-label": `Choose proposal ${p.proposal_id + 1}: ${p.name}`,
      });
      const card = h(
        "li",
        { class: "card proposal", "data-proposal": p.proposal_id },
        h(
          "div",
          { class: "proposal-head" },
          maintainer ? pick : null,
          maintainer ? name : h("strong", null, p.name),
          h(
            "span",
            { class: "muted" },
            ` ${plural(p.size, "record")}` + (p.overlapping ? `, ${p.overlapping} shared` : ""),
          ),
        ),
        h("p", { class: "proposal-terms" }, p.terms.map((t) => t.term).join(" · ")),
        h(
          "ul",
          { class: "proposal-titles" },
          p.titles.map((t) =>
            h(
              "li",
              null,
              h("a", { href: `#/p/${pid}/screen/${t.record_id}` }, t.title || `Record ${t.record_id}`),
              t.year ? ` (${t.year})` : "",
            ),
          ),
        ),
      );
      card.proposal = p;
      card.nameInput = name;
      card.pick = pick;
      return card;
    });
    const list = h("ol", { class: "proposals" }, cards);
    const chosen = () => cards.filter((c) => c.pick.checked);
    const accept = async (merge) => {
      const picked = chosen();
      if (!picked.length) {
        announce("Choose at least one proposal.");
        return;
      }
      const themes = merge
        ? [
            {
              proposals: picked.map((c) => c.proposal.proposal_id),
              name: picked[0].nameInput.value.trim(),
            },
          ]
        : picked.map((c) => ({
            proposals: [c.proposal.proposal_id],
            name: c.nameInput.value.trim(),
          }));
      try {
        const done = await request("POST", `${base}/themes/proposals`, {
          json: { key: found.key, filter: found.filter, stage: found.stage, themes },
        });
        await loadProject(pid, { fresh: true });
        if (!alive()) return;
        announce(`Added ${done.themes.map((t) => t.name).join(", ")}.`);
        proposalsBox.prepend(
          h(
            "p",
            { class: "notice", role: "status" },
            `Added ${plural(done.themes.length, "theme")}: ` +
              done.themes.map((t) => `${t.name} (${t.suggested} suggested)`).join("; "),
          ),
        );
        loadPicks();
      } catch (error) {
        showError(error, proposalsBox);
      }
    };
    proposalsBox.replaceChildren(
      h(
        "p",
        { class: "hint" },
        `${plural(found.proposals.length, "theme")} found in ${plural(found.records, "record")}` +
          (maintainer
            ? ". Choose proposals, edit their names, then accept them as themes (their records" +
              " become suggestions, not labels) or merge them into one; the rest are dropped."
            : "; a maintainer accepts them as themes."),
      ),
      list,
      maintainer
        ? h(
            "div",
            { class: "actions" },
            h(
              "button",
              { class: "btn btn-primary", type: "button", id: "accept", onclick: () => accept(false) },
              "Accept as themes",
            ),
            h(
              "button",
              { class: "btn", type: "button", id: "merge", onclick: () => accept(true) },
              "Merge into one theme",
            ),
          )
        : null,
    );
  }

  // -- picks ----------------------------------------------------------------------------
  const reviewsFirst = h("input", { type: "checkbox", id: "reviews-first" });
  reviewsFirst.addEventListener("change", () => loadPicks());
  const counts = h("p", { id: "selection-counts", class: "hint", "aria-live": "polite" });
  const picksBox = h("div", { id: "picks" });

  function showCounts(c) {
    counts.textContent =
      `Final selection: ${plural(c.selected, "record")}, ${plural(c.reviews, "review")}` +
      (c.themes.length
        ? ` (${c.themes.map((t) => `${t.theme}: ${t.selected}`).join(", ")})`
        : "");
  }

  async function loadPicks() {
    try {
      const [themes, selection] = await Promise.all([
        request("GET", `${base}/picks`, {
          query: { reviews_first: reviewsFirst.checked, stage: stage.value },
        }),
        request("GET", `${base}/picks/selection`),
      ]);
      if (!alive()) return;
      showCounts(selection);
      picksBox.replaceChildren(
        ...(themes.length
          ? themes.map(renderTheme)
          : [h("p", { class: "muted" }, "No themes yet: accept proposals or add themes.")]),
      );
    } catch (error) {
      showError(error, picksBox);
    }
  }

  function renderTheme(theme) {
    const item = (p) => {
      let selected = p.selected;
      const button = h("button", {
        type: "button",
        class: "btn btn-small pick-toggle",
        "aria-pressed": String(selected),
      });
      const label = () => (button.textContent = selected ? "Selected ✓" : "Select");
      label();
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          const path = `${base}/picks/selection/${p.record_id}`;
          const query = { theme: theme.theme };
          const after = selected
            ? await request("DELETE", path, { query })
            : await request("PUT", path, { query, json: { reason: p.reason } });
          selected = !selected;
          button.setAttribute("aria-pressed", String(selected));
          label();
          showCounts(after);
        } catch (error) {
          showError(error, picksBox);
        } finally {
          button.disabled = false;
        }
      });
      return h(
        "li",
        { class: "card pick", "data-record": p.record_id },
        h(
          "div",
          { class: "pick-head" },
          h("a", { href: `#/p/${pid}/screen/${p.record_id}` }, p.title || `Record ${p.record_id}`),
          p.year ? ` (${p.year})` : "",
          p.review ? h("span", { class: "chip chip-theme" }, "review") : "",
          maintainer ? button : p.selected ? h("strong", null, " selected") : "",
        ),
        h("p", { class: "pick-reason muted" }, p.reason),
      );
    };
    return h(
      "section",
      { class: "theme-picks", "data-theme": theme.theme },
      h(
        "h3",
        null,
        `${theme.theme} `,
        h(
          "span",
          { class: "muted" },
          `${plural(theme.members, "record")}, ${plural(theme.reviews, "review")}`,
        ),
      ),
      theme.picks.length
        ? h("ol", { class: "picks" }, theme.picks.map(item))
        : h("p", { class: "muted" }, "No records labelled or suggested for this theme yet."),
    );
  }

  main.append(
    h("h1", null, `Synthesis · ${project.name}`),
    h("h2", null, "Theme proposals"),
    h(
      "div",
      { class: "card search-form" },
      h("div", { class: "field" }, h("label", { for: "discover-filter" }, "Among"), filter),
      h("div", { class: "field" }, h("label", { for: "discover-stage" }, "Decided at"), stage),
      discover,
    ),
    proposalsBox,
    h("h2", null, "Representative records per theme"),
    h(
      "p",
      { class: "field-inline" },
      reviewsFirst,
      h("label", { for: "reviews-first" }, " Reviews first"),
    ),
    counts,
    picksBox,
  );
  await loadPicks();
  return {};
}

// #/projects: the projects the reviewer belongs to, and (administrators) a form to create one.

import { api, me } from "../api.js";
import { h, percent, plural } from "../dom.js";
import { announce, can, rememberProject, ROLE_NAMES, showError } from "../ui.js";

const MODES = { single: "Single screening", double: "Blind double screening" };

function projectCard(project) {
  const base = `#/p/${project.project_id}`;
  return h(
    "li",
    { class: "card project-card", "data-project-id": project.project_id },
    h("h2", null, h("a", { href: `${base}/screen` }, project.name)),
    h(
      "p",
      { class: "project-meta" },
      h("span", { class: "role-badge" }, ROLE_NAMES[project.role]),
      " ",
      MODES[project.mode],
    ),
    project.question
      ? h("p", { class: "question" }, project.question)
      : h("p", { class: "muted" }, "No review question yet."),
    h(
      "div",
      { class: "project-counts", "data-counts": project.project_id },
      h("p", { class: "muted" }, "Counting…"),
    ),
    project.themes.length
      ? h(
          "ul",
          { class: "chips", "aria-label": "Themes" },
          project.themes.map((t) =>
            h("li", { class: "chip chip-static", title: t.description || null }, t.name),
          ),
        )
      : null,
    h(
      "p",
      { class: "card-actions" },
      h("a", { class: "btn btn-small btn-primary", href: `${base}/screen` }, "Screen"),
      h("a", { class: "btn btn-small", href: `${base}/progress` }, "Progress"),
      can(project, "resolver") && project.mode === "double"
        ? h("a", { class: "btn btn-small", href: `${base}/conflicts` }, "Conflicts")
        : null,
      can(project, "maintainer")
        ? h("a", { class: "btn btn-small", href: `${base}/import` }, "Import files")
        : null,
    ),
  );
}

/** A project card's counts: screened out of the records (a final decision, maybes
 * included, as everywhere), with a bar, and the labels; from the PRISMA counts (no model). */
function countsOf(counts) {
  const records = counts.screened + counts.awaiting_screening;
  return [
    h(
      "p",
      { class: "counts-line" },
      h("strong", null, counts.screened.toLocaleString()),
      ` of ${plural(records, "record")} screened`,
      records ? ` (${percent(counts.screened / records)})` : "",
    ),
    h("progress", {
      max: Math.max(records, 1),
      value: counts.screened,
      "aria-label": "Share of records screened",
    }),
    h(
      "p",
      { class: "counts-labels hint" },
      `${counts.sought_for_retrieval.toLocaleString()} included · ` +
        `${counts.screening_excluded.toLocaleString()} excluded · ` +
        `${(counts.screening_maybe || 0).toLocaleString()} maybe`,
    ),
  ];
}

async function fillCounts(list, alive) {
  await Promise.all(
    list.map(async (project) => {
      const box = document.querySelector(`[data-counts="${project.project_id}"]`);
      try {
        const counts = await api.prisma(project.project_id);
        if (alive() && box) box.replaceChildren(...countsOf(counts));
      } catch (error) {
        if (alive() && box) box.replaceChildren();
      }
    }),
  );
}

/** One theme's row of the new-project form: a name and what the theme covers. */
function themeRow(index) {
  const nameId = `theme-name-${index}`;
  const descriptionId = `theme-description-${index}`;
  return h(
    "div",
    { class: "theme-row", "data-theme-row": index },
    h(
      "div",
      { class: "field" },
      h("label", { for: nameId }, `Theme ${index + 1}`),
      h("input", {
        id: nameId,
        name: "theme_name",
        type: "text",
        maxlength: 200,
        autocomplete: "off",
      }),
    ),
    h(
      "div",
      { class: "field grow" },
      h("label", { for: descriptionId }, "What it covers"),
      h("input", {
        id: descriptionId,
        name: "theme_description",
        type: "text",
        maxlength: 2000,
        autocomplete: "off",
      }),
    ),
  );
}

function createForm() {
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const themeRows = h("div", { class: "theme-row-list" }, [0, 1, 2].map(themeRow));
  const form = h(
    "form",
    {
      class: "card form",
      id: "create-project",
      "aria-labelledby": "create-title",
      novalidate: true,
    },
    h("h2", { id: "create-title" }, "New project"),
    h("label", { for: "project-name" }, "Name"),
    h("input", {
      id: "project-name",
      name: "name",
      required: true,
      maxlength: 200,
      autocomplete: "off",
    }),
    h("label", { for: "project-question" }, "Review question or inclusion criteria"),
    h("textarea", { id: "project-question", name: "question", rows: 3 }),
    h(
      "p",
      { class: "hint", id: "question-hint" },
      "Its terms are highlighted while screening, and it ranks the first records.",
    ),
    h(
      "fieldset",
      { class: "theme-rows", id: "project-themes", "aria-describedby": "themes-hint" },
      h("legend", null, "Themes (optional)"),
      h(
        "p",
        { class: "hint", id: "themes-hint" },
        "Reviewers tag records with themes; screenwise suggests them when it is confident. " +
          "A sentence on what each covers makes the first suggestions much better.",
      ),
      themeRows,
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small",
          id: "add-theme-row",
          onclick: () => {
            const row = themeRow(themeRows.children.length);
            themeRows.append(row);
            row.querySelector("input").focus();
          },
        },
        "Add a theme",
      ),
    ),
    h(
      "fieldset",
      { class: "mode-choice" },
      h("legend", null, "Screening"),
      Object.entries(MODES).map(([value, text]) =>
        h(
          "div",
          { class: "check" },
          h("input", {
            type: "radio",
            id: `project-mode-${value}`,
            name: "mode",
            value,
            checked: value === "single",
          }),
          h("label", { for: `project-mode-${value}` }, text),
        ),
      ),
      h(
        "p",
        { class: "hint" },
        "Double: two reviewers decide each record independently; disagreements go to a resolver. It can change until screening starts.",
      ),
    ),
    status,
    h("button", { class: "btn btn-primary", type: "submit" }, "Create project"),
  );
  form.querySelector("#project-question").setAttribute("aria-describedby", "question-hint");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.replaceChildren();
    const name = form.elements.name.value.trim();
    if (!name) {
      status.append(h("p", { class: "error", role: "alert" }, "A project needs a name."));
      form.elements.name.focus();
      return;
    }
    const rows = [...themeRows.querySelectorAll(".theme-row")].map((row) => ({
      name: row.querySelector("[name=theme_name]").value.trim(),
      description: row.querySelector("[name=theme_description]").value.trim(),
    }));
    const themes = rows.filter((t) => t.name);
    const unnamed = rows.findIndex((t) => !t.name && t.description);
    if (unnamed >= 0) {
      status.append(
        h("p", { class: "error", role: "alert" }, "A theme with a description needs a name."),
      );
      themeRows.querySelectorAll("[name=theme_name]")[unnamed]?.focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const project = await api.createProject({
        name,
        question: form.elements.question.value.trim(),
        themes,
        mode: form.elements.mode.value,
      });
      rememberProject(project);
      announce(`Created project ${project.name}. Import its export files next.`);
      window.location.hash = `#/p/${project.project_id}/import`;
    } catch (error) {
      showError(error, status);
      const field = error.field && form.elements[error.field];
      (field || form.elements.name).focus();
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

export async function show(main, { alive }) {
  const list = await api.projects();
  if (!alive()) return {};
  const admin = me().is_admin;
  main.append(
    h("h1", null, "Projects"),
    h(
      "div",
      { class: admin ? "projects-layout" : "projects-layout single" },
      h(
        "section",
        { "aria-labelledby": "list-title" },
        h("h2", { id: "list-title", class: "visually-hidden" }, "Your projects"),
        list.length
          ? h("ul", { class: "project-list" }, list.map(projectCard))
          : h(
              "p",
              { class: "card empty" },
              admin
                ? "No project yet: create one, then import your search exports."
                : "You are not a member of any project yet: a project's maintainer adds you.",
            ),
      ),
      admin ? createForm() : null,
    ),
  );
  for (const project of list) rememberProject(project);
  fillCounts(list, alive);
  return {};
}

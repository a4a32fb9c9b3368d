// #/projects: the projects the reviewer belongs to, and (administrators) a form to create one.

import { api, me } from "../api.js";
import { h } from "../dom.js";
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
    project.themes.length
      ? h(
          "ul",
          { class: "chips", "aria-label": "Themes" },
          project.themes.map((t) => h("li", { class: "chip chip-static" }, t.name)),
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

function createForm() {
  const status = h("div", { class: "form-status", "aria-live": "polite" });
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
    h("label", { for: "project-themes" }, "Themes, one per line (optional)"),
    h("textarea", {
      id: "project-themes",
      name: "themes",
      rows: 3,
      "aria-describedby": "themes-hint",
    }),
    h(
      "p",
      { class: "hint", id: "themes-hint" },
      "Reviewers tag records with themes; screenwise learns to suggest them.",
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
    const themes = form.elements.themes.value
      .split("\n")
      .map((t) => t.trim())
      .filter(Boolean);
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
  return {};
}

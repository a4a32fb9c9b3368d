// #/projects: every project, and a form to create one.

import { api } from "../api.js";
import { h } from "../dom.js";
import { announce, rememberProject, showError } from "../ui.js";

function projectCard(project) {
  const base = `#/p/${project.project_id}`;
  return h(
    "li",
    { class: "card project-card" },
    h("h2", null, h("a", { href: `${base}/screen` }, project.name)),
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
      h("a", { class: "btn btn-small", href: `${base}/import` }, "Import files"),
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

export async function show(main) {
  const list = await api.projects();
  main.append(
    h("h1", null, "Projects"),
    h(
      "div",
      { class: "projects-layout" },
      h(
        "section",
        { "aria-labelledby": "list-title" },
        h("h2", { id: "list-title", class: "visually-hidden" }, "All projects"),
        list.length
          ? h("ul", { class: "project-list" }, list.map(projectCard))
          : h(
              "p",
              { class: "card empty" },
              "No project yet: create one, then import your search exports.",
            ),
      ),
      createForm(),
    ),
  );
  for (const project of list) rememberProject(project);
  return {};
}

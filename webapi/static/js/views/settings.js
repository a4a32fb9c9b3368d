// #/p/<id>/settings (maintainers): the screening mode, the exclusion reasons per stage, the
// members and their roles, and retraining the ranking model.

import { api, me } from "../api.js";
import { h, plural, when } from "../dom.js";
import {
  announce,
  forgetProjects,
  rememberProject,
  ROLE_NAMES,
  ROLES,
  showError,
  STAGES,
  reasonsOf,
} from "../ui.js";
import { limitsSection } from "./limits.js";

const DECISION_ACTIONS = new Set(["decision", "decision.change", "resolution"]);
const RANKED_BY = {
  model: "the relevance model",
  similarity: "similarity to the included records",
  question: "similarity to the review question",
  none: "import order",
};
const MODES = {
  single: ["Single screening", "One decision per record; the newest is final."],
  double: [
    "Blind double screening",
    "Two reviewers decide each record without seeing each other's decision; agreement makes it final, a disagreement goes to a resolver.",
  ],
};

function status(container, text, kind = "success") {
  container.replaceChildren(
    h("p", { class: kind, role: kind === "error" ? "alert" : "status" }, text),
  );
}

function section(id, title, ...children) {
  return h(
    "section",
    { class: "card settings-card", id, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title),
    ...children,
  );
}

function modeSection(ctx, started) {
  const { project } = ctx;
  const out = h("div", { class: "form-status", "aria-live": "polite" });
  const fieldset = h(
    "fieldset",
    { class: "mode-choice", disabled: started },
    h("legend", { class: "visually-hidden" }, "Screening mode"),
    Object.entries(MODES).map(([value, [title, text]]) =>
      h(
        "div",
        { class: "check" },
        h("input", {
          type: "radio",
          id: `mode-${value}`,
          name: "mode",
          value,
          checked: project.mode === value,
          "aria-describedby": `mode-${value}-hint`,
        }),
        h(
          "label",
          { for: `mode-${value}` },
          h("strong", null, title),
          h("span", { class: "hint", id: `mode-${value}-hint` }, ` ${text}`),
        ),
      ),
    ),
  );
  const button = h(
    "button",
    { class: "btn btn-primary", type: "submit", disabled: started },
    "Save mode",
  );
  const form = h(
    "form",
    { id: "mode-form" },
    fieldset,
    started
      ? h(
          "p",
          { class: "hint", id: "mode-locked" },
          "Screening has started: the mode stays as it is for this project.",
        )
      : h("p", { class: "hint" }, "The mode can change until the first decision is made."),
    out,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const updated = await api.updateProject(project.project_id, {
        mode: form.elements.mode.value,
      });
      rememberProject(updated);
      ctx.project = updated;
      status(out, `Saved: ${MODES[updated.mode][0].toLowerCase()}.`);
      announce("Screening mode saved.");
    } catch (error) {
      out.replaceChildren();
      showError(error, out);
    } finally {
      button.disabled = false;
    }
  });
  return section("settings-mode", "Screening mode", form);
}

function reasonsSection(ctx) {
  const out = h("div", { class: "form-status", "aria-live": "polite" });
  const fields = Object.entries(STAGES).map(([stage, title]) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: `reasons-${stage}` }, `${title}, one per line`),
      h(
        "textarea",
        {
          id: `reasons-${stage}`,
          name: stage,
          rows: 6,
          "aria-describedby": `reasons-${stage}-hint`,
        },
        reasonsOf(ctx.project, stage).join("\n"),
      ),
      h(
        "p",
        { class: "hint", id: `reasons-${stage}-hint` },
        stage === "full_text"
          ? "A full-text exclusion must give one. “report not retrieved” counts as not retrieved in the PRISMA diagram."
          : "An exclusion may give one. Left empty, reviewers may write any reason.",
      ),
    ),
  );
  const button = h("button", { class: "btn btn-primary", type: "submit" }, "Save reasons");
  const form = h(
    "form",
    { id: "reasons-form", class: "reasons-grid" },
    fields,
    h("div", { class: "reasons-actions" }, out, button),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const lists = Object.fromEntries(
      Object.keys(STAGES).map((stage) => [
        stage,
        form.elements[stage].value
          .split("\n")
          .map((r) => r.trim())
          .filter(Boolean),
      ]),
    );
    button.disabled = true;
    try {
      // The API replaces the whole setting: both stages go every time.
      const updated = await api.updateProject(ctx.project.project_id, {
        exclusion_reasons: lists,
      });
      rememberProject(updated);
      ctx.project = updated;
      status(
        out,
        `Saved: ${Object.entries(STAGES)
          .map(
            ([stage, title]) =>
              `${plural(lists[stage].length, "reason")} at ${title.toLowerCase()}`,
          )
          .join(", ")}.`,
      );
      announce("Exclusion reasons saved.");
    } catch (error) {
      out.replaceChildren();
      showError(error, out);
    } finally {
      button.disabled = false;
    }
  });
  return section("settings-reasons", "Exclusion reasons", form);
}

function membersSection(ctx, members, reviewers) {
  const pid = ctx.project.project_id;
  const out = h("div", { class: "form-status", "aria-live": "polite" });
  const tbody = h("tbody");
  const roleSelect = (id, selected, label) =>
    h(
      "select",
      { id, name: "role", "aria-label": label },
      ROLES.map((role) =>
        h("option", { value: role, selected: role === selected }, ROLE_NAMES[role]),
      ),
    );

  function leftProject(name) {
    // Their own membership ended or shrank: the page reads their roles afresh.
    if (name !== me().name || me().is_admin) return false;
    forgetProjects();
    window.location.hash = "#/projects";
    return true;
  }

  async function change(action, name, doing) {
    try {
      const result = await action();
      if (leftProject(name)) return;
      render(result || (await api.members(pid)));
      status(out, doing);
      announce(doing);
    } catch (error) {
      out.replaceChildren();
      showError(error, out);
    }
  }

  function render(list) {
    tbody.replaceChildren(
      ...list.map((m) => {
        const select = roleSelect(`role-${m.reviewer}`, m.role, `Role of ${m.reviewer}`);
        select.addEventListener("change", () =>
          change(
            () => api.setMember(pid, m.reviewer, select.value),
            m.reviewer,
            `${m.reviewer} is now ${ROLE_NAMES[select.value].toLowerCase()}.`,
          ),
        );
        return h(
          "tr",
          { "data-member": m.reviewer },
          h("th", { scope: "row" }, m.reviewer),
          h("td", null, select),
          h("td", null, when(m.added_at)),
          h(
            "td",
            { class: "num" },
            h(
              "button",
              {
                type: "button",
                class: "btn btn-small",
                "aria-label": `Remove ${m.reviewer} from the project`,
                onclick: () =>
                  change(
                    () => api.removeMember(pid, m.reviewer),
                    m.reviewer,
                    `${m.reviewer} removed; their decisions stay.`,
                  ),
              },
              "Remove",
            ),
          ),
        );
      }),
    );
  }

  const nameInput = h("input", {
    id: "member-name",
    name: "name",
    type: "text",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    list: reviewers ? "reviewer-names" : null,
  });
  const addForm = h(
    "form",
    { class: "filters member-add", id: "member-form", "aria-label": "Add a member" },
    h(
      "div",
      { class: "field grow" },
      h("label", { for: "member-name" }, "Reviewer name"),
      nameInput,
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "member-role" }, "Role"),
      roleSelect("member-role", "reviewer", null),
    ),
    h("button", { class: "btn btn-primary", type: "submit" }, "Add member"),
    reviewers
      ? h(
          "datalist",
          { id: "reviewer-names" },
          reviewers.map((r) => h("option", { value: r.name })),
        )
      : null,
  );
  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      status(out, "Give the reviewer's name.", "error");
      nameInput.focus();
      return;
    }
    const role = addForm.elements.role.value;
    await change(
      () => api.setMember(pid, name, role),
      null,
      `${name} is a ${ROLE_NAMES[role].toLowerCase()} of this project.`,
    );
    if (!out.querySelector(".error")) addForm.reset();
  });
  render(members);
  return section(
    "settings-members",
    "Members",
    h(
      "p",
      { class: "hint" },
      "Reviewers screen; resolvers also settle conflicts; maintainers also import, export, retrain, read the audit trail and change these settings.",
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data", id: "members-table" },
        h("caption", { class: "visually-hidden" }, "Members"),
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ["Reviewer", "Role", "Member since", ""].map((t) =>
              h("th", { scope: "col" }, t || h("span", { class: "visually-hidden" }, "Actions")),
            ),
          ),
        ),
        tbody,
      ),
    ),
    addForm,
    out,
  );
}

function modelSection(ctx, model) {
  const pid = ctx.project.project_id;
  const out = h("div", { class: "form-status", "aria-live": "polite" });
  const describe = (info) => {
    const labels = (info.current && info.current.labels) || { include: 0, exclude: 0 };
    const saved = info.saved ? `last retrained ${when(info.saved.written_at)}` : "never retrained";
    const by = RANKED_BY[info.mode] || info.mode;
    return `The queue is ranked by ${by}, from ${plural(labels.include, "include")} and ${plural(labels.exclude, "exclude")} (final title/abstract decisions); ${saved}.`;
  };
  const line = h("p", { id: "model-line" }, describe(model));
  const button = h("button", { type: "button", class: "btn", id: "retrain" }, "Retrain now");
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.replaceChildren(h("p", { class: "notice" }, "Retraining…"));
    try {
      let job = await api.retrain(pid);
      while (job.status === "running") {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        job = await api.trainingJob(pid, job.job_id);
      }
      if (job.status === "failed") throw new Error(job.error || "the retrain failed");
      line.textContent = describe(await api.model(pid));
      status(out, "Retrained: the saved models are the ones ranking the queue.");
      announce("Retrained.");
    } catch (error) {
      out.replaceChildren();
      showError(error, out);
    } finally {
      button.disabled = false;
    }
  });
  return section("settings-model", "Ranking model", line, out, button);
}

/** The project's themes: rename (labels kept) or describe each, add one. */
function themesSection(ctx) {
  const out = h("div", { class: "form-status", "aria-live": "polite" });
  const list = h("div", { class: "theme-row-list", id: "theme-edit-list" });

  function row(theme, index) {
    const nameId = `edit-theme-name-${index}`;
    const descriptionId = `edit-theme-description-${index}`;
    const name = h("input", { id: nameId, type: "text", maxlength: 200, value: theme.name });
    const description = h("input", {
      id: descriptionId,
      type: "text",
      maxlength: 2000,
      value: theme.description,
    });
    const save = h("button", { type: "submit", class: "btn btn-small" }, "Save");
    const form = h(
      "form",
      { class: "theme-row theme-edit", "data-theme": theme.name },
      h("div", { class: "field" }, h("label", { for: nameId }, `Theme ${index + 1}`), name),
      h(
        "div",
        { class: "field grow" },
        h("label", { for: descriptionId }, "What it covers"),
        h("div", { class: "inline-field" }, description, save),
      ),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { theme: theme.name };
      if (name.value.trim() !== theme.name) body.name = name.value.trim();
      if (description.value.trim() !== theme.description)
        body.description = description.value.trim();
      if (Object.keys(body).length === 1) return;
      await apply(() => api.updateTheme(ctx.project.project_id, body), `Saved ${body.name || theme.name}.`);
    });
    return form;
  }

  const newName = h("input", { id: "new-theme-name", type: "text", maxlength: 200 });
  const newDescription = h("input", { id: "new-theme-description", type: "text", maxlength: 2000 });
  const addForm = h(
    "form",
    { class: "theme-row", id: "add-theme-form" },
    h("div", { class: "field" }, h("label", { for: "new-theme-name" }, "New theme"), newName),
    h(
      "div",
      { class: "field grow" },
      h("label", { for: "new-theme-description" }, "What it covers"),
      h(
        "div",
        { class: "inline-field" },
        newDescription,
        h("button", { type: "submit", class: "btn btn-small" }, "Add"),
      ),
    ),
  );
  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!newName.value.trim()) {
      newName.focus();
      return;
    }
    const body = { name: newName.value.trim(), description: newDescription.value.trim() };
    if (await apply(() => api.addTheme(ctx.project.project_id, body), `Added ${body.name}.`)) {
      newName.value = "";
      newDescription.value = "";
    }
  });

  async function apply(call, said) {
    try {
      const updated = await call();
      rememberProject(updated);
      ctx.project = updated;
      render();
      status(out, said);
      announce(said);
      return true;
    } catch (error) {
      out.replaceChildren();
      showError(error, out);
      return false;
    }
  }

  function render() {
    list.replaceChildren(...ctx.project.themes.map(row));
  }
  render();
  return section(
    "settings-themes",
    "Themes",
    h(
      "p",
      { class: "hint" },
      "A rename keeps the records' labels; a sentence on what a theme covers improves its suggestions.",
    ),
    list,
    addForm,
    out,
  );
}

export async function show(main, ctx) {
  const { project, alive } = ctx;
  const pid = project.project_id;
  const [members, events, model, reviewers] = await Promise.all([
    api.members(pid),
    api.audit(pid),
    api.model(pid),
    me().is_admin ? api.reviewers() : Promise.resolve(null),
  ]);
  if (!alive()) return {};
  // The API refuses a new mode once anyone has decided (retractions count): the audit trail
  // records every decision, even one the reader may not see yet.
  const started = events.some((e) => DECISION_ACTIONS.has(e.action));
  const view = { project };
  main.append(
    h("h1", null, `Settings · ${project.name}`),
    h(
      "div",
      { class: "settings-layout" },
      modeSection(view, started),
      modelSection(view, model),
      reasonsSection(view),
      limitsSection(view),
      themesSection(view),
      membersSection(view, members, reviewers),
    ),
  );
  return {};
}

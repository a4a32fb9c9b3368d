// What every view shares: the live region, error boxes, roles, and the project each view is
// about.

import { api, ApiError } from "./api.js";
import { h } from "./dom.js";

const projects = new Map(); // project id -> project (with the caller's role), as last read

/** Say something to screen-reader users (the page's aria-live region). */
export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  // Set after a tick, so the same sentence twice is still announced.
  setTimeout(() => (region.textContent = text), 30);
}

/** Show an error for the reviewer at the top of ``container`` (the view by default). */
export function showError(error, container = document.getElementById("main")) {
  // A 401 has already taken the reviewer to the login view, which says why.
  if (error instanceof ApiError && error.status === 401) return null;
  const message =
    error instanceof ApiError ? error.message : `Something went wrong: ${error.message || error}`;
  const box = h("div", { class: "error", role: "alert" }, message);
  container.prepend(box);
  return box;
}

export async function loadProject(id, { fresh = false } = {}) {
  if (fresh || !projects.has(String(id))) projects.set(String(id), await api.project(id));
  return projects.get(String(id));
}

export function rememberProject(project) {
  projects.set(String(project.project_id), project);
}

/** Another reviewer may sign in in this tab next: roles are read afresh. */
export function forgetProjects() {
  projects.clear();
}

// -- roles: each can do what the ones before it can (webapi/access.py) -------------------

export const ROLES = ["reviewer", "resolver", "maintainer"];
export const ROLE_NAMES = { reviewer: "Reviewer", resolver: "Resolver", maintainer: "Maintainer" };

/** Whether the caller's role in ``project`` is at least ``role``. */
export function can(project, role) {
  return ROLES.indexOf(project.role) >= ROLES.indexOf(role);
}

// -- stages ------------------------------------------------------------------------------

export const STAGES = { title_abstract: "Title/abstract", full_text: "Full text" };

/** The stage a view works at: ``?stage=`` when given, else the one last chosen in this tab. */
export function stageOf(project, params) {
  const key = `screenwise.stage.${project.project_id}`;
  const asked = params.get("stage");
  if (STAGES[asked]) sessionStorage.setItem(key, asked);
  const stage = sessionStorage.getItem(key);
  return STAGES[stage] ? stage : "title_abstract";
}

/** The project's exclusion reasons at ``stage`` (an empty list: any reason, or none). */
export function reasonsOf(project, stage) {
  return ((project.settings && project.settings.exclusion_reasons) || {})[stage] || [];
}

/**
 * Two radio buttons that choose the stage; choosing one goes to ``hrefFor(stage)``. Arrow keys
 * move between them, as in any radio group.
 */
export function stageSwitch(current, hrefFor) {
  const name = `stage-${Math.random().toString(36).slice(2, 8)}`;
  return h(
    "fieldset",
    { class: "segmented stage-switch" },
    h("legend", null, "Stage"),
    Object.entries(STAGES).map(([stage, title]) => {
      const id = `${name}-${stage}`;
      return h(
        "span",
        { class: "segment" },
        h("input", {
          type: "radio",
          id,
          name,
          value: stage,
          checked: stage === current,
          onchange: () => (window.location.hash = hrefFor(stage)),
        }),
        h("label", { for: id }, title),
      );
    }),
  );
}

/** What a view shows instead of controls the caller's role does not allow. */
export function notForRole(main, project, role, what) {
  main.append(
    h("h1", null, what),
    h(
      "p",
      { class: "card notice" },
      `${what} needs the ${role} role; your role in ${project.name} is ${project.role}.`,
    ),
  );
  return {};
}

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

/**
 * The estimate of relevant records left, in words: ``value`` (the figure, a whole number, or
 * "too early"), ``interval`` (beside the figure), ``howTo`` (one line on how to read it) and
 * ``ready`` (whether it has enough evidence; the API's rule, ``enough_evidence``).
 */
export function estimateWords(estimate) {
  const count = (x) => Math.round(x).toLocaleString();
  if (estimate.expected === null || estimate.expected === undefined) {
    const needed = estimate.decisions_needed;
    return {
      ready: false,
      value: "not yet",
      interval: "",
      howTo: needed
        ? `Starts after one include and one exclude; worth reading after about ${count(needed)} more decisions.`
        : "Starts after one include and one exclude.",
    };
  }
  const level = `${Math.round((estimate.level ?? 0.9) * 100)}\u00a0%`;
  if (!estimate.enough_evidence) {
    return {
      ready: false,
      value: "too early",
      interval: `about ${count(estimate.decisions_needed)} more decisions`,
      howTo:
        "The estimate reads how fast includes thin out; until they do (100 decisions, the last " +
        "20 without an include) every include found moves it.",
    };
  }
  return {
    ready: true,
    value: `≈\u00a0${count(estimate.expected)}`,
    interval: `${level} interval ${count(estimate.low)}–${count(estimate.high)}`,
    howTo:
      `About ${count(estimate.expected)} relevant records are likely still among the ` +
      `${count(estimate.unscreened)} unscreened; ${level} of the time the true number lies in ` +
      `the interval. It narrows as includes thin out.`,
  };
}

// What every view shares: the live region, error boxes, and the project each view is about.

import { api, ApiError } from "./api.js";
import { h } from "./dom.js";

const projects = new Map(); // project id -> project, as the API last gave it

/** Say something to screen-reader users (the page's aria-live region). */
export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  // Set after a tick, so the same sentence twice is still announced.
  setTimeout(() => (region.textContent = text), 30);
}

/** Show an error for the reviewer at the top of ``container`` (the view by default). */
export function showError(error, container = document.getElementById("main")) {
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

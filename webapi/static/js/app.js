// The screening page: sign-in, hash routes, the header, the help dialog and the shortcuts every
// view shares. Each view lives in views/ and talks to the API only through api.js.

import { api, me, onSignedOut, resume, signOut } from "./api.js";
import { h, clear } from "./dom.js";
import {
  announce,
  can,
  forgetProjects,
  loadProject,
  notForRole,
  ROLE_NAMES,
  showError,
} from "./ui.js";
import * as loginView from "./views/login.js";
import * as projectsView from "./views/projects.js";
import * as importView from "./views/import.js";
import * as screenView from "./views/screen.js";
import * as progressView from "./views/progress.js";
import * as searchView from "./views/search.js";
import * as historyView from "./views/history.js";
import * as conflictsView from "./views/conflicts.js";
import * as auditView from "./views/audit.js";
import * as settingsView from "./views/settings.js";
import * as evidenceView from "./views/evidence.js";
import * as synthesisView from "./views/synthesis.js";

// Each view with the least role that may use it: the nav offers only what the caller's role
// allows (the API refuses the rest with 403 anyway).
const VIEWS = {
  screen: { module: screenView, title: "Screen", role: "reviewer" },
  progress: { module: progressView, title: "Progress", role: "reviewer" },
  search: { module: searchView, title: "Search", role: "reviewer" },
  history: { module: historyView, title: "History", role: "reviewer" },
  synthesis: { module: synthesisView, title: "Synthesis", role: "reviewer" },
  evidence: { module: evidenceView, title: "Map", role: "reviewer" },
  conflicts: { module: conflictsView, title: "Conflicts", role: "resolver" },
  import: { module: importView, title: "Import", role: "maintainer" },
  audit: { module: auditView, title: "Audit", role: "maintainer" },
  settings: { module: settingsView, title: "Settings", role: "maintainer" },
};

const main = document.getElementById("main");
const projectNav = document.getElementById("project-nav");
const helpDialog = document.getElementById("help");
let current = null; // the shown view's {dispose, onKey}
let generation = 0;

function parseRoute() {
  const hash = window.location.hash || "#/projects";
  const [path, search] = hash.slice(1).split("?");
  const params = new URLSearchParams(search || "");
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "p" && parts[1]) {
    return {
      project: parts[1],
      view: VIEWS[parts[2]] ? parts[2] : "screen",
      arg: parts[3] || null,
      params,
    };
  }
  return { project: null, view: "projects", arg: null, params };
}

function renderNav(route, project) {
  clear(projectNav);
  if (!project) {
    projectNav.hidden = true;
    return;
  }
  projectNav.hidden = false;
  const tabs = h("ul", { class: "tabs" });
  for (const [key, { title, role }] of Object.entries(VIEWS)) {
    if (!can(project, role)) continue;
    if (key === "conflicts" && project.mode !== "double") continue; // none in single screening
    const active = route.view === key;
    tabs.append(
      h(
        "li",
        null,
        h(
          "a",
          { href: `#/p/${project.project_id}/${key}`, "aria-current": active ? "page" : null },
          title,
        ),
      ),
    );
  }
  const exportGroup = can(project, "maintainer")
    ? h(
        "div",
        {
          class: "export",
          role: "group",
          "aria-label": "Export the project's records and final decisions",
        },
        ["ris", "csv"].map((format) =>
          h(
            "button",
            {
              type: "button",
              class: "btn btn-small",
              "data-export": format,
              "aria-label": `Export ${format.toUpperCase()}`,
              onclick: async (event) => {
                const button = event.currentTarget;
                button.disabled = true;
                try {
                  const name = await api.exportFile(project.project_id, format);
                  announce(`Exported ${name}`);
                } catch (error) {
                  showError(error);
                } finally {
                  button.disabled = false;
                }
              },
            },
            h("span", { class: "btn-text" }, "Export"),
            format.toUpperCase(),
          ),
        ),
      )
    : null;
  projectNav.append(
    h(
      "div",
      { class: "project-title" },
      h(
        "a",
        {
          class: "project-name",
          href: `#/p/${project.project_id}/screen`,
          title: project.question || project.name,
        },
        project.name,
      ),
      h(
        "span",
        { class: "role-badge", id: "project-role", title: "Your role in this project" },
        ROLE_NAMES[project.role],
      ),
      project.mode === "double"
        ? h("span", { class: "role-badge mode-badge", title: "Blind double screening" }, "Double")
        : null,
    ),
    tabs,
    exportGroup || "",
  );
}

function renderSession() {
  const who = me();
  document.getElementById("session").hidden = !who;
  document.getElementById("me-name").textContent = who ? who.name : "";
  document.getElementById("me-admin").hidden = !(who && who.is_admin);
}

function showLogin(reason = "") {
  renderSession();
  renderNav(null, null);
  clear(main);
  document.title = "Sign in · screenwise";
  current = loginView.show(main, {
    reason,
    onSignedIn: () => {
      forgetProjects();
      route();
      main.focus({ preventScroll: true });
    },
  });
}

function leave() {
  ++generation;
  if (current && current.dispose) current.dispose();
  current = null;
  forgetProjects();
}

async function route() {
  const mine = ++generation;
  const target = parseRoute();
  if (current && current.dispose) current.dispose();
  current = null;
  clear(main);
  if (!me()) {
    showLogin();
    return;
  }
  renderSession();
  let project = null;
  try {
    if (target.project) project = await loadProject(target.project);
  } catch (error) {
    if (mine !== generation) return;
    renderNav(target, null);
    showError(error);
    main.append(h("p", null, h("a", { href: "#/projects" }, "Back to the projects")));
    return;
  }
  if (mine !== generation) return;
  renderNav(target, project);
  const view = project ? VIEWS[target.view] : { module: projectsView, title: "Projects" };
  document.title = project
    ? `${view.title} · ${project.name} · screenwise`
    : "Projects · screenwise";
  if (project && !can(project, view.role)) {
    current = notForRole(main, project, view.role, view.title);
    return;
  }
  const module = view.module;
  const context = {
    project,
    arg: target.arg,
    params: target.params,
    alive: () => mine === generation,
  };
  try {
    const shown = (await module.show(main, context)) || {};
    // A view that finished after the reviewer moved on is not the current one.
    if (mine === generation) current = shown;
    else if (shown.dispose) shown.dispose();
  } catch (error) {
    if (mine === generation) showError(error);
  }
}

// -- shortcuts shared by every view ------------------------------------------------------

function typing(target) {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || target.closest("input, textarea, select"))
  );
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  if (event.key === "Escape" && typing(event.target)) {
    // Leave a field so shortcuts work again, without losing what was typed.
    event.target.blur();
    main.focus();
    return;
  }
  if (typing(event.target) || helpDialog.open) return;
  if (event.key === "?") {
    event.preventDefault();
    helpDialog.showModal();
    return;
  }
  if (event.key === "/") {
    const route_ = parseRoute();
    if (!route_.project || !me()) return;
    event.preventDefault();
    if (route_.view === "search") document.getElementById("search-q")?.focus();
    else window.location.hash = `#/p/${route_.project}/search?focus=1`;
    return;
  }
  if (current && current.onKey && current.onKey(event)) event.preventDefault();
});

// -- the header ------------------------------------------------------------------------

document.getElementById("sign-out").addEventListener("click", () => {
  leave();
  signOut();
  announce("Signed out.");
  showLogin("You are signed out. Sign in again with a token.");
});

// Any 401 (the token was revoked meanwhile) comes back to the login view.
onSignedOut(() => {
  leave();
  showLogin("Your session has ended: the token is no longer valid. Sign in again.");
});

document.getElementById("help-button").addEventListener("click", () => helpDialog.showModal());
document.getElementById("help-close").addEventListener("click", () => helpDialog.close());
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", () => {
  if (window.location.hash.startsWith("#/") || !window.location.hash) route();
});
resume()
  .then(() => route())
  .catch((error) => showLogin(`The server did not answer as expected: ${error.message}`));

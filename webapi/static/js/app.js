// The screening page: hash routes, the header, the help dialog and the shortcuts every view
// shares. Each view lives in views/ and talks to the API only through api.js.

import { api, reviewer, setReviewer } from "./api.js";
import { h, clear } from "./dom.js";
import { announce, loadProject, showError } from "./ui.js";
import * as projectsView from "./views/projects.js";
import * as importView from "./views/import.js";
import * as screenView from "./views/screen.js";
import * as progressView from "./views/progress.js";
import * as searchView from "./views/search.js";
import * as historyView from "./views/history.js";

const VIEWS = {
  screen: { module: screenView, title: "Screen" },
  progress: { module: progressView, title: "Progress" },
  search: { module: searchView, title: "Search" },
  history: { module: historyView, title: "History" },
  import: { module: importView, title: "Import" },
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
  for (const [key, { title }] of Object.entries(VIEWS)) {
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
  const exportGroup = h(
    "div",
    { class: "export", role: "group", "aria-label": "Export the project's records and decisions" },
    ["ris", "csv"].map((format) =>
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small",
          "data-export": format,
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
        `Export ${format.toUpperCase()}`,
      ),
    ),
  );
  projectNav.append(
    h(
      "a",
      {
        class: "project-name",
        href: `#/p/${project.project_id}/screen`,
        title: project.question || project.name,
      },
      project.name,
    ),
    tabs,
    exportGroup,
  );
}

async function route() {
  const mine = ++generation;
  const target = parseRoute();
  if (current && current.dispose) current.dispose();
  current = null;
  clear(main);
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
  const module = target.view === "projects" ? projectsView : VIEWS[target.view].module;
  document.title = project
    ? `${VIEWS[target.view].title} · ${project.name} · screenwise`
    : "Projects · screenwise";
  const context = {
    project,
    arg: target.arg,
    params: target.params,
    alive: () => mine === generation,
  };
  try {
    current = (await module.show(main, context)) || {};
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
  if (event.key === "Escape" && typing(event.target) && event.target.id !== "reviewer") {
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
    if (!route_.project) return;
    event.preventDefault();
    if (route_.view === "search") document.getElementById("search-q")?.focus();
    else window.location.hash = `#/p/${route_.project}/search?focus=1`;
    return;
  }
  if (current && current.onKey && current.onKey(event)) event.preventDefault();
});

// -- the header ------------------------------------------------------------------------

const reviewerInput = document.getElementById("reviewer");
reviewerInput.value = reviewer();
reviewerInput.addEventListener("input", () => setReviewer(reviewerInput.value));
reviewerInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === "Escape") {
    event.preventDefault();
    reviewerInput.blur();
    main.focus();
  }
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
route();

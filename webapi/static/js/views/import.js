// #/p/<id>/import: upload export files, follow the upload and then the import job (read,
// store, embed, index) with a progress bar, read what each file added.

import { api } from "../api.js";
import { h, plural } from "../dom.js";
import { announce, showError } from "../ui.js";

const ACCEPT = ".ris,.txt,.csv,.tsv,.tab,.nbib,.medline,.xml,.bib";

function priors(include, exclude) {
  return include + exclude ? `${include} incl. · ${exclude} excl.` : "none";
}

function summaryTable(summaries) {
  const rows = summaries.map((s) =>
    h(
      "tr",
      null,
      h(
        "th",
        { scope: "row" },
        s.filename,
        s.already_imported ? h("span", { class: "muted" }, " (already imported)") : null,
      ),
      h("td", null, s.format),
      h("td", { class: "num" }, s.read),
      h("td", { class: "num", "data-field": "added" }, s.added),
      h("td", { class: "num", "data-field": "duplicates" }, s.duplicates),
      h("td", { class: "num", "data-field": "without_abstract" }, s.without_abstract),
      h(
        "td",
        { class: "num", "data-field": "prior_labels" },
        priors(s.prior_labels.include, s.prior_labels.exclude),
      ),
    ),
  );
  const total = (key) => summaries.reduce((sum, s) => sum + s[key], 0);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data", id: "import-summary" },
      h("caption", null, "Import summary"),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          ["File", "Format", "Read", "Added", "Duplicates", "No abstract", "Prior labels"].map(
            (t) => h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h("tbody", null, rows),
      summaries.length > 1
        ? h(
            "tfoot",
            null,
            h(
              "tr",
              null,
              h("th", { scope: "row" }, "All files"),
              h("td"),
              h("td", { class: "num" }, total("read")),
              h("td", { class: "num" }, total("added")),
              h("td", { class: "num" }, total("duplicates")),
              h("td", { class: "num" }, total("without_abstract")),
              h(
                "td",
                { class: "num" },
                priors(
                  summaries.reduce((n, s) => n + s.prior_labels.include, 0),
                  summaries.reduce((n, s) => n + s.prior_labels.exclude, 0),
                ),
              ),
            ),
          )
        : null,
    ),
  );
}

function sourcesTable(sources) {
  if (!sources.length) return h("p", { class: "muted" }, "No file imported yet.");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data" },
      h("caption", null, "Files in this project"),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          ["File", "Format", "Read", "Added", "Duplicates"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h(
        "tbody",
        null,
        sources.map((s) =>
          h(
            "tr",
            null,
            h("th", { scope: "row" }, s.filename),
            h("td", null, s.format),
            h("td", { class: "num" }, s.read),
            h("td", { class: "num" }, s.added),
            h("td", { class: "num" }, s.duplicates),
          ),
        ),
      ),
    ),
  );
}

const PHASES = {
  queued: "Waiting for a worker…",
  read: "Reading the files",
  store: "Storing and removing duplicates",
  embed: "Embedding",
  index: "Indexing",
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Follow an import job until it is over, showing its phase and progress on ``bar``. */
async function follow(job, { bar, statusText, alive, onEmbedding }) {
  while (job.state === "queued" || job.state === "running") {
    const label = PHASES[job.phase] || job.phase;
    if (job.total > 0) {
      bar.max = job.total;
      bar.value = job.done;
      const rate = job.records_per_second ? ` · ${Math.round(job.records_per_second)} records/s` : "";
      statusText.textContent = `${label}: ${job.done.toLocaleString()} of ${job.total.toLocaleString()}${rate}`;
    } else {
      bar.removeAttribute("value");
      statusText.textContent = label;
    }
    if (job.phase === "embed") onEmbedding();
    await sleep(700);
    if (!alive()) return job;
    job = await api.job(job.job_id);
  }
  return job;
}

export async function show(main, { project, alive }) {
  const progress = await api.progress(project.project_id);
  if (!alive()) return {};
  const bar = h("progress", {
    id: "upload-progress",
    max: 100,
    value: 0,
    "aria-labelledby": "upload-status",
  });
  const statusText = h("span", { id: "upload-status" }, "");
  const cancel = h(
    "button",
    { class: "btn", type: "button", id: "import-cancel", hidden: true },
    "Cancel import",
  );
  const screenNow = h(
    "p",
    { id: "import-screen-now", hidden: true },
    "Records are screenable as soon as they are embedded: ",
    h("a", { href: `#/p/${project.project_id}/screen` }, "screen those embedded so far"),
    ".",
  );
  const meter = h("div", { class: "upload-meter", hidden: true }, bar, statusText, cancel);
  let running = null;
  cancel.addEventListener("click", async () => {
    if (!running) return;
    cancel.disabled = true;
    try {
      await api.cancelJob(running);
    } catch (error) {
      showError(error, result);
    }
  });
  const result = h("div", { id: "import-result", "aria-live": "polite" });
  const sources = h("div", null, sourcesTable(progress.sources));
  const form = h(
    "form",
    { class: "card form", id: "import-form", "aria-labelledby": "import-title" },
    h("h2", { id: "import-title" }, "Import export files"),
    h(
      "p",
      { class: "hint", id: "files-hint" },
      "RIS, CSV/TSV, PubMed MEDLINE or XML, BibTeX. Duplicates are found across files and set aside; labels in the files become prior decisions.",
    ),
    h("label", { for: "import-files" }, "Files"),
    h("input", {
      id: "import-files",
      name: "files",
      type: "file",
      multiple: true,
      accept: ACCEPT,
      required: true,
      "aria-describedby": "files-hint",
    }),
    h(
      "div",
      { class: "check" },
      h("input", { id: "ignore-labels", name: "ignore_labels", type: "checkbox" }),
      h(
        "label",
        { for: "ignore-labels" },
        "Set aside labels found in the files (screen everything afresh)",
      ),
    ),
    h("button", { class: "btn btn-primary", type: "submit" }, "Upload and import"),
    meter,
    screenNow,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.replaceChildren();
    const files = [...form.elements.files.files];
    if (!files.length) {
      result.append(
        h("p", { class: "error", role: "alert" }, "Choose one or more export files first."),
      );
      form.elements.files.focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    meter.hidden = false;
    bar.value = 0;
    statusText.textContent = "Uploading…";
    try {
      const queued = await api.importFiles(project.project_id, files, {
        ignoreLabels: form.elements.ignore_labels.checked,
        onProgress: (fraction) => {
          if (fraction === null) {
            bar.removeAttribute("value"); // indeterminate: the server is working
            statusText.textContent = "Uploaded. Waiting for a worker…";
          } else {
            bar.value = Math.round(fraction * 100);
            statusText.textContent = `Uploading… ${bar.value} %`;
          }
        },
      });
      if (!alive()) return;
      running = queued.job_id;
      cancel.hidden = false;
      cancel.disabled = false;
      const job = await follow(queued, {
        bar,
        statusText,
        alive,
        onEmbedding: () => {
          screenNow.hidden = false;
        },
      });
      running = null;
      cancel.hidden = true;
      screenNow.hidden = true;
      if (!alive()) return;
      if (job.state !== "done") {
        meter.hidden = true;
        const why =
          job.state === "cancelled"
            ? "The import was cancelled."
            : `The import failed: ${job.error}`;
        result.append(h("p", { class: "error", role: "alert", id: "import-error" }, why));
        announce(why);
        return;
      }
      const summaries = job.result.files;
      bar.max = 100;
      bar.value = 100;
      const added = summaries.reduce((n, s) => n + s.added, 0);
      const duplicates = summaries.reduce((n, s) => n + s.duplicates, 0);
      statusText.textContent = "Done.";
      const sentence = `Imported ${plural(summaries.length, "file")}: ${plural(added, "record")} added, ${plural(duplicates, "duplicate")} set aside.`;
      // Flagged at import: records outside the protocol's search limits (settings).
      const outside = summaries.reduce((n, s) => n + (s.outside_limits || 0), 0);
      result.append(
        h("p", { class: "success" }, sentence),
        outside
          ? h(
              "p",
              { class: "notice", id: "import-outside-limits" },
              `${plural(outside, "new record")} ${outside === 1 ? "is" : "are"} outside the search limits; a maintainer can exclude them in Settings.`,
            )
          : "",
        summaryTable(summaries),
        h(
          "p",
          null,
          h(
            "a",
            { class: "btn btn-primary", href: `#/p/${project.project_id}/screen` },
            "Start screening",
          ),
        ),
      );
      announce(sentence);
      form.reset();
      const fresh = await api.progress(project.project_id);
      if (alive()) sources.replaceChildren(sourcesTable(fresh.sources));
    } catch (error) {
      meter.hidden = true;
      showError(error, result);
    } finally {
      button.disabled = false;
    }
  });
  main.append(
    h("h1", null, `Import · ${project.name}`),
    h("div", { class: "import-layout" }, form, h("section", { class: "card" }, result, sources)),
  );
  return {};
}

// Pieces of a record as a reviewer reads it (screening and conflicts): title, authors, source
// links and abstract, with the review question's terms highlighted. Text goes in as text.

import { h, highlight } from "./dom.js";

const MAX_AUTHORS = 12;

function doiHref(doi) {
  const bare = doi
    .trim()
    .replace(/^(https?:\/\/)?(dx\.)?doi\.org\//i, "")
    .replace(/^doi:\s*/i, "");
  return /^10\.\S+\/\S+$/.test(bare)
    ? `https://doi.org/${bare.split("/").map(encodeURIComponent).join("/")}`
    : null;
}

function externalLink(href, text, label) {
  return h(
    "a",
    { href, target: "_blank", rel: "noopener noreferrer", class: "ext" },
    text,
    h("span", { class: "visually-hidden" }, ` ${label} (opens in a new tab)`),
  );
}

export function sourceLine(record) {
  const parts = [];
  if (record.journal) parts.push(h("span", { class: "journal" }, record.journal));
  if (record.year) parts.push(h("span", null, String(record.year)));
  const doi = record.doi && doiHref(record.doi);
  if (doi) parts.push(externalLink(doi, `DOI ${record.doi}`, ""));
  if (/^\d{1,9}$/.test((record.pmid || "").trim())) {
    parts.push(
      externalLink(
        `https://pubmed.ncbi.nlm.nih.gov/${record.pmid.trim()}/`,
        `PubMed ${record.pmid.trim()}`,
        "",
      ),
    );
  }
  if (!doi && record.url && /^https?:\/\//i.test(record.url))
    parts.push(externalLink(record.url, "Link", "to the record"));
  // Outside the protocol's search limits (years, languages): flagged until a maintainer acts.
  const limits = record.search_limits;
  if (limits && limits.status === "outside")
    parts.push(
      h(
        "span",
        { class: "limits-flag", title: limits.reasons.join("; ") },
        `Outside search limits: ${limits.reasons.join("; ")}`,
      ),
    );
  const line = h("p", { class: "source" });
  parts.forEach((part, i) =>
    line.append(...(i ? [h("span", { class: "sep", "aria-hidden": "true" }, "·"), part] : [part])),
  );
  return line;
}

export function authorsLine(authors) {
  if (!authors || !authors.length) return h("p", { class: "authors muted" }, "No authors listed");
  const shown = authors.slice(0, MAX_AUTHORS).join("; ");
  const more = authors.length > MAX_AUTHORS ? ` and ${authors.length - MAX_AUTHORS} more` : "";
  return h("p", { class: "authors" }, shown + more);
}

export function abstractBlock(text, terms) {
  const block = h("section", { class: "abstract", "aria-label": "Abstract" });
  if (!text || !text.trim()) {
    block.append(h("p", { class: "muted" }, "No abstract in the imported record."));
    return block;
  }
  for (const paragraph of text.split(/\n\s*\n|\r?\n/).filter((p) => p.trim())) {
    block.append(h("p", null, highlight(paragraph.trim(), terms)));
  }
  return block;
}

export function keywordsLine(record, terms) {
  if (!record.keywords || !record.keywords.length) return null;
  return h(
    "p",
    { class: "keywords" },
    h("span", { class: "kw-label" }, "Keywords: "),
    highlight(record.keywords.join("; "), terms),
  );
}

// Study types (classifier/studytype.py) and where a record's came from.
export const STUDY_TYPES = {
  review: "Systematic or scoping review",
  rct: "Randomised trial",
  quantitative: "Other quantitative study",
  qualitative: "Qualitative study",
  guideline: "Guideline or policy document",
  other: "Other",
};
const STUDY_TYPE_SOURCES = {
  metadata: "from the export's own publication type",
  model: "read from the title and abstract; correct it if wrong",
  reviewer: "set by a reviewer",
};

/**
 * The record's study type as a select the reviewer may correct: ``save(type)`` stores it
 * (the API's PATCH) and returns the record as stored.
 */
export function studyTypeLine(record, save) {
  if (!record.study_type) return null;
  const source = h(
    "span",
    { class: "muted study-type-source", id: "record-study-type-source" },
    STUDY_TYPE_SOURCES[record.study_type_source] || "",
  );
  const select = h(
    "select",
    { id: "record-study-type", name: "study_type" },
    Object.entries(STUDY_TYPES).map(([value, text]) =>
      h("option", { value, selected: value === record.study_type }, text),
    ),
  );
  select.addEventListener("change", async () => {
    select.disabled = true;
    try {
      const saved = await save(select.value);
      source.textContent = STUDY_TYPE_SOURCES[saved.study_type_source] || "";
    } finally {
      select.disabled = false;
    }
  });
  return h(
    "p",
    { class: "study-type-line" },
    h("label", { for: "record-study-type" }, "Study type "),
    select,
    " ",
    source,
  );
}

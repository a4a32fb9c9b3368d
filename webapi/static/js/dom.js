// Building the page's DOM. Record text (titles, abstracts, authors) always goes in as text
// nodes: nothing here parses HTML, so a title holding "<script>" is shown, never run.

const SVG_NS = "http://www.w3.org/2000/svg"; // a namespace name, not a resource

function apply(node, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class")
      node.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function")
      node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node && !key.includes("-") && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** h("p", {class: "x"}, "text", child): an element; strings become text nodes. */
export function h(tag, attrs, ...children) {
  return append(apply(document.createElement(tag), attrs), children);
}

/** The same for SVG elements. */
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  return append(node, children);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

// Words that say nothing about a record's topic: English function words, and words that
// nearly every abstract of a clinical or research literature uses.
const STOPWORDS = new Set(
  (
    "a an and are as at be by for from has have in into is it its of on or that the their this to " +
    "was were what which with within without among after before between during versus vs than " +
    "does do how who whom whose can may not all any both each other our we they them these those " +
    "effect effects study studies review reviews patient patients people person persons " +
    "treatment treatments treated treating therapy therapies drug drugs disorder disorders " +
    "disease diseases use used using based clinical trial trials outcome outcomes result results " +
    "analysis method methods data evidence group groups compared comparison associated " +
    "association factor factors level levels rate rates risk high low new"
  ).split(" "),
);

/** A word's stem, for matching forms of a word ("trajectories" and "trajectory", "children"
 * and "child"): lower case, a common English ending taken off, at least four letters kept. */
export function stem(word) {
  const w = word.toLowerCase();
  if (w === "children") return "child";
  for (const [ending, replacement] of [
    ["ational", "ate"],
    ["ations", "ate"],
    ["ation", "ate"],
    ["ically", ""],
    ["atic", "a"],
    ["ical", ""],
    ["ities", ""],
    ["ity", ""],
    ["ness", ""],
    ["ments", ""],
    ["ment", ""],
    ["ies", "y"],
    ["ied", "y"],
    ["ing", ""],
    ["ed", ""],
    ["es", ""],
    ["s", ""],
  ]) {
    if (w.endsWith(ending) && w.length - ending.length + replacement.length >= 4) {
      const base = w.slice(0, w.length - ending.length) + replacement;
      if (ending === "s" && /(ss|us|is)$/.test(w)) return w; // "stress", "virus", "analysis"
      return base.replace(/e$/, "");
    }
  }
  return w.replace(/e$/, "");
}

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'-]*/gu;

/** The words of a question worth highlighting: 3+ letters, no stop words, distinct. */
export function termsOf(text) {
  const words = (text || "").toLowerCase().match(WORD) || [];
  return [...new Set(words.filter((w) => w.length >= 3 && !STOPWORDS.has(w)))];
}

/**
 * ``text`` as text nodes with each whole word that is a form of one of ``terms`` in a <mark>:
 * the same stem ("trajectories" marks "trajectory"), never a word that merely starts the same
 * ("deficit" does not mark "defined"); stop words are never marked.
 */
export function highlight(text, terms) {
  const fragment = document.createDocumentFragment();
  const value = text || "";
  const stems = new Set(
    (terms || []).filter((t) => !STOPWORDS.has(t.toLowerCase())).map((t) => stem(t)),
  );
  if (!stems.size || !value) {
    fragment.append(document.createTextNode(value));
    return fragment;
  }
  let last = 0;
  for (const match of value.matchAll(WORD)) {
    // A hyphenated word matches as a whole or by its parts ("post-traumatic").
    const word = match[0].replace(/['-]+$/, "");
    const parts = word.split("-");
    if (!stems.has(stem(word)) && !parts.some((part) => stems.has(stem(part)))) continue;
    if (match.index > last)
      fragment.append(document.createTextNode(value.slice(last, match.index)));
    fragment.append(h("mark", null, word));
    last = match.index + word.length;
  }
  if (last < value.length) fragment.append(document.createTextNode(value.slice(last)));
  return fragment;
}

export function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

export function percent(fraction, digits = 0) {
  return `${(fraction * 100).toFixed(digits)}\u00a0%`;
}

export function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso || "";
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export const LABEL_NAMES = {
  include: "Include",
  exclude: "Exclude",
  maybe: "Maybe",
  undecided: "Undecided (retracted)",
};

/** A small badge for a decision label. */
export function labelBadge(label) {
  return h(
    "span",
    { class: ["badge", `badge-${label || "none"}`] },
    label ? LABEL_NAMES[label] || label : "Unscreened",
  );
}

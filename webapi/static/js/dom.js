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

const STOPWORDS = new Set(
  (
    "a an and are as at be by for from has have in into is it its of on or that the their this to " +
    "was were what which with within without among after before between during versus vs than " +
    "does do how who whom whose effect effects study studies review patients people"
  ).split(" "),
);

/** The words of a question worth highlighting: 3+ letters, no stopwords, distinct. */
export function termsOf(text) {
  const words = (text || "").toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}-]*/gu) || [];
  return [...new Set(words.filter((w) => w.length >= 3 && !STOPWORDS.has(w)))];
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * ``text`` as text nodes with each occurrence of ``terms`` in a <mark>. A term matches at the
 * start of a word and takes the rest of it ("trauma" marks "traumatic"); a long term also
 * matches its stem ("trajectories" marks "trajectory").
 */
export function highlight(text, terms) {
  const fragment = document.createDocumentFragment();
  const value = text || "";
  const stems = [
    ...new Set((terms || []).map((t) => (t.length > 6 ? t.slice(0, t.length - 3) : t))),
  ];
  if (!stems.length || !value) {
    fragment.append(document.createTextNode(value));
    return fragment;
  }
  stems.sort((a, b) => b.length - a.length);
  const pattern = new RegExp(
    `(?<![\\p{L}\\p{N}])(?:${stems.map(escapeRegExp).join("|")})[\\p{L}\\p{N}-]*`,
    "giu",
  );
  let last = 0;
  for (const match of value.matchAll(pattern)) {
    if (match.index > last)
      fragment.append(document.createTextNode(value.slice(last, match.index)));
    fragment.append(h("mark", null, match[0]));
    last = match.index + match[0].length;
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

// #/p/<id>/screen[/<record id>][?stage=full_text]: one record at a time from the ranked queue
// (or one record opened from search or history) at one stage, decided with buttons or keys,
// with undo.

import { api, reviewer, ApiError } from "../api.js";
import { h, highlight, labelBadge, LABEL_NAMES, plural, termsOf, when } from "../dom.js";
import { recallChart } from "../chart.js";
import {
  abstractBlock,
  authorsLine,
  keywordsLine,
  sourceLine,
  STUDY_TYPES,
  studyTypeLine,
} from "../record.js";
import {
  announce,
  can,
  estimateWords,
  reasonsOf,
  showError,
  stageOf,
  STAGES,
  stageSwitch,
} from "../ui.js";

// Offered when the project has no list of its own for the stage (then any reason is taken).
const REASONS = [
  "Wrong population",
  "Wrong intervention or exposure",
  "Wrong comparator",
  "Wrong outcome",
  "Wrong study design",
  "Wrong publication type",
  "Not about the review question",
];
const OTHER = "__other__";
const DONE = { include: "Included", exclude: "Excluded", maybe: "Marked maybe" };

// -- undo: the decisions made in this tab, newest last, per project and stage ---------------

function undoKey(projectId, stage) {
  return `screenwise.undo.${projectId}.${stage}`;
}

function undoStack(projectId, stage) {
  try {
    return JSON.parse(sessionStorage.getItem(undoKey(projectId, stage)) || "[]");
  } catch {
    return [];
  }
}

function saveUndo(projectId, stage, stack) {
  sessionStorage.setItem(undoKey(projectId, stage), JSON.stringify(stack.slice(-50)));
}

// -- pieces of the record card ---------------------------------------------------------

/** The queue's first record: where it ranks among the unscreened (the scale a reviewer can
 * read), with the score itself and what its scale is in the tooltip. */
function scoreChip(item, queue) {
  if (item.score === null || item.score === undefined)
    return h("span", { class: "chip chip-score muted" }, "Not scored");
  const unscreened = Math.max(queue.unscreened || 1, 1);
  const share = Math.max((100 * (item.rank || 1)) / unscreened, 0.1);
  const top = share < 1 ? share.toFixed(1) : Math.round(share);
  const scale = {
    model:
      "relevance score: the relevance model's blend of scaled parts, 0 for a typical (median) unscreened record",
    similarity: "similarity: cosine to the nearest included record, from −1 to 1",
    question: "match to the question: cosine to the review question, from −1 to 1",
  }[item.mode];
  const by = { model: "relevance", similarity: "similarity", question: "match to question" }[
    item.mode
  ];
  return h(
    "span",
    {
      class: "chip chip-score",
      id: "record-score",
      "data-mode": item.mode,
      title: `Ranked ${(item.rank || 1).toLocaleString()} of ${unscreened.toLocaleString()} unscreened by ${by}; ${scale || "score"} ${item.score.toFixed(2)}.`,
    },
    `Top ${top}\u00a0% of unscreened`,
    h("span", { class: "chip-value" }, ` · ${by} ${item.score.toFixed(2)}`),
  );
}

function modeSentence(queue, stage) {
  const labels = (queue.model && queue.model.labels) || { include: 0, exclude: 0 };
  const text = {
    model: `Ranked by the relevance model, trained on ${plural(labels.include, "include")} and ${plural(labels.exclude, "exclude")}`,
    similarity:
      "Ranked by similarity to the included records; the model starts after an exclude too",
    question:
      "Ranked by similarity to the review question; the model starts after one include and one exclude",
    none: "In import order: no review question and no decisions yet",
  }[queue.mode];
  const left = stage === "full_text" ? "full text to assess" : "to screen";
  const waiting = queue.embedding_pending
    ? ` Still being embedded: ${plural(queue.embedding_pending, "record")}, joining the queue as they are ready.`
    : "";
  return `${text}. ${plural(queue.unscreened, "record")} ${left}.${waiting}`;
}

/** The record's decision as the API gives it to this reviewer: the final one, or (blind double
 * screening) their own; another reviewer's undecided one is never sent. */
function decisionLine(decision) {
  if (!decision) return h("p", { class: "current-decision" }, "Not decided yet.");
  const own = decision.reviewer === reviewer() && decision.origin === "screen";
  return h(
    "p",
    { class: "current-decision" },
    own ? "Your decision: " : "Current decision: ",
    labelBadge(decision.label),
    decision.reason ? ` ${decision.reason}.` : "",
    own
      ? ` ${when(decision.created_at)}.`
      : ` By ${decision.reviewer}, ${when(decision.created_at)}.`,
  );
}

// -- the view --------------------------------------------------------------------------

export async function show(main, ctx) {
  const { project, alive } = ctx;
  const pid = project.project_id;
  const stage = stageOf(project, ctx.params);
  const atFullText = stage === "full_text";
  const double = project.mode === "double";
  const reasons = reasonsOf(project, stage);
  const terms = termsOf(project.question);
  const themeNames = project.themes.map((t) => t.name);
  let state = null; // {record, source, decision, labelled, suggestions, queue, selected}
  let busy = false;

  // The panel is built once; the record card is rebuilt per record.
  const card = h(
    "article",
    { class: "card record", id: "record", "aria-labelledby": "record-title", "aria-busy": "true" },
    h("p", { class: "muted" }, "Loading the next record…"),
  );
  const message = h("div", { class: "panel-message", "aria-live": "assertive" });
  const buttons = ["include", "exclude", "maybe"].map((label) =>
    h(
      "button",
      {
        type: "button",
        class: ["btn", "btn-decide", `btn-${label}`],
        id: `decide-${label}`,
        "aria-keyshortcuts": label[0],
        onclick: () => decide(label),
      },
      LABEL_NAMES[label],
      " ",
      h("kbd", { "aria-hidden": "true" }, label[0].toUpperCase()),
    ),
  );
  const chips = h("div", { class: "chips theme-chips" });
  const themesBox = h(
    "fieldset",
    { class: "themes", hidden: !themeNames.length },
    h("legend", null, "Themes ", h("span", { class: "hint" }, "(1–9)")),
    chips,
    h(
      "p",
      { class: "hint chips-hint", id: "chips-hint" },
      "A dashed chip is the model's suggestion, off until you accept it (its number or a " +
        "click). Only the themes you switch on are saved; none is a normal answer.",
    ),
  );
  const reasonSelect = h(
    "select",
    {
      id: "reason",
      name: "reason",
      "aria-keyshortcuts": "r",
      onchange: () => (otherBox.hidden = reasonSelect.value !== OTHER),
    },
    h(
      "option",
      { value: "" },
      reasons.length && atFullText ? "Choose a reason" : "No reason given",
    ),
    (reasons.length ? reasons : REASONS).map((r) => h("option", { value: r }, r)),
    // The project's own list is the whole choice (the API takes only those); else any text.
    reasons.length ? null : h("option", { value: OTHER }, "Other…"),
  );
  const otherInput = h("input", {
    id: "reason-other",
    name: "reason_other",
    type: "text",
    maxlength: 500,
  });
  const otherBox = h(
    "div",
    { class: "field", hidden: true },
    h("label", { for: "reason-other" }, "Other reason"),
    otherInput,
  );
  const note = h("textarea", {
    id: "note",
    name: "note",
    rows: 2,
    "aria-keyshortcuts": "n",
    maxlength: 20000,
  });
  const undoButton = h(
    "button",
    {
      type: "button",
      class: "btn btn-ghost btn-undo",
      id: "undo",
      "aria-keyshortcuts": "u",
      onclick: () => undo(),
    },
    "Undo last decision ",
    h("kbd", { "aria-hidden": "true" }, "U"),
  );
  const undoHint = h("p", { class: "hint", id: "undo-hint" });
  undoButton.setAttribute("aria-describedby", "undo-hint");

  const stats = {
    screened: h("strong", { id: "stat-screened" }, "–"),
    total: h("span", { id: "stat-total" }, "–"),
    bar: h("progress", {
      id: "screened-bar",
      max: 1,
      value: 0,
      "aria-label": "Share of records screened",
    }),
    included: h("dd", { id: "stat-included" }, "–"),
    excluded: h("dd", { id: "stat-excluded" }, "–"),
    mine: h("dd", { id: "stat-mine" }, "–"),
    remaining: h("dd", { id: "stat-remaining" }, "–"),
    chart: h("div", { class: "mini-chart" }),
  };
  // Blind double screening counts final decisions (both reviewers agreed, or a resolver
  // decided) and, apart, the reviewer's own: nobody else's decision shows in either.
  const finalWord = double ? "final" : "screened";
  const miniProgress = h(
    "section",
    {
      class: ["card", "progress-strip", atFullText ? "no-chart" : null],
      "aria-labelledby": "mini-title",
    },
    h("h2", { id: "mini-title", class: "visually-hidden" }, `Progress at ${STAGES[stage]}`),
    h(
      "div",
      { class: "strip-screened" },
      h("p", { class: "screened-line" }, stats.screened, " of ", stats.total, ` ${finalWord}`),
      stats.bar,
    ),
    h(
      "dl",
      { class: "stats" },
      h("div", null, h("dt", null, "Included"), stats.included),
      h("div", null, h("dt", null, "Excluded"), stats.excluded),
      double ? h("div", null, h("dt", null, "Yours"), stats.mine) : null,
      atFullText ? null : h("div", null, h("dt", null, "Relevant left (est.)"), stats.remaining),
    ),
    atFullText
      ? null
      : h(
          "a",
          {
            class: "strip-chart",
            href: `#/p/${pid}/progress`,
            "aria-label": "Recall curve: full progress",
          },
          stats.chart,
        ),
  );

  const panel = h(
    "aside",
    { class: "panel", "aria-label": "Decision" },
    h(
      "section",
      { class: "card decide-card", "aria-labelledby": "decide-title" },
      h("h2", { id: "decide-title", class: "visually-hidden" }, "Decide"),
      message,
      h("div", { class: "decide-buttons", role: "group", "aria-label": "Decision" }, buttons),
      themesBox,
      h(
        "div",
        { class: "field" },
        h(
          "label",
          { for: "reason" },
          "Exclusion reason ",
          h("span", { class: "hint" }, atFullText && reasons.length ? "(R, required)" : "(R)"),
        ),
        reasonSelect,
      ),
      otherBox,
      h(
        "div",
        { class: "field" },
        h("label", { for: "note" }, "Note ", h("span", { class: "hint" }, "(N)")),
        note,
      ),
      undoButton,
      undoHint,
    ),
    h(
      "p",
      { class: "shortcut-line", id: "shortcut-line" },
      h("kbd", null, "I"),
      " include ",
      h("kbd", null, "E"),
      " exclude ",
      h("kbd", null, "M"),
      " maybe ",
      h("kbd", null, "U"),
      " undo ",
      themeNames.length ? [h("kbd", null, "1–9"), " themes "] : null,
      h("kbd", null, "/"),
      " search ",
      h("kbd", null, "?"),
      " help",
    ),
  );
  const heading = h("h1", { class: "visually-hidden" }, `Screen · ${project.name}`);
  const toolbar = h(
    "div",
    { class: "screen-toolbar" },
    stageSwitch(stage, (s) => `#/p/${pid}/screen?stage=${s}`),
    h(
      "p",
      { class: "screen-mode hint", id: "screen-mode" },
      double
        ? "Blind double screening: decide on your own. Nobody sees your decision, nor you theirs, until both of you have decided."
        : atFullText
          ? "Full text: the records included at title/abstract."
          : "Single screening: each decision is final.",
    ),
  );
  main.append(heading, toolbar, h("div", { class: "screen-layout" }, card, panel, miniProgress));

  function say(text, kind = "info") {
    message.replaceChildren(
      text
        ? h(
            "p",
            {
              class: kind === "error" ? "error" : "notice",
              role: kind === "error" ? "alert" : null,
            },
            text,
          )
        : "",
    );
  }

  /** The search a record was opened from (its question and filter travel in the route). */
  function searchHash() {
    const query = new URLSearchParams();
    for (const name of ["q", "filter"])
      if (ctx.params.get(name)) query.set(name, ctx.params.get(name));
    return `#/p/${pid}/search?${query}`;
  }

  function renderUndo() {
    const stack = undoStack(pid, stage);
    const lastEntry = stack[stack.length - 1];
    undoButton.disabled = !lastEntry;
    const title =
      lastEntry && lastEntry.title.length > 80
        ? `${lastEntry.title.slice(0, 78)}…`
        : lastEntry && lastEntry.title;
    undoHint.textContent = lastEntry
      ? `Undoes ${LABEL_NAMES[lastEntry.label]} on “${title}”.`
      : "Nothing to undo yet.";
  }

  function renderChips() {
    chips.replaceChildren();
    const scores = new Map((state.suggestions || []).map((t) => [t.theme, t]));
    themeNames.forEach((name, index) => {
      const suggestion = scores.get(name);
      const suggested = Boolean(suggestion && suggestion.suggested);
      const on = state.selected.has(name);
      const key = index < 9 ? String(index + 1) : null;
      const spoken = [
        name,
        key ? `theme ${key}` : null,
        suggested ? `suggested, ${Math.round(suggestion.score * 100)} percent` : null,
      ]
        .filter(Boolean)
        .join(", ");
      chips.append(
        h(
          "button",
          {
            type: "button",
            class: ["chip", "chip-theme", suggested ? "suggested" : null],
            "aria-pressed": on ? "true" : "false",
            "aria-label": spoken,
            "data-theme": name,
            "aria-keyshortcuts": key,
            onclick: () => toggleTheme(name),
          },
          key ? h("kbd", { "aria-hidden": "true" }, key) : null,
          h("span", { class: "chip-name" }, name),
          // Only a suggestion shows a figure: a low score next to every chip reads as noise.
          suggested
            ? h(
                "span",
                { class: "chip-value", "aria-hidden": "true", title: "The model's probability" },
                `${Math.round(suggestion.score * 100)}\u00a0%`,
              )
            : null,
        ),
      );
    });
  }

  function toggleTheme(name) {
    if (!state) return;
    if (state.selected.has(name)) state.selected.delete(name);
    else state.selected.add(name);
    renderChips();
    chips.querySelector(`[data-theme="${CSS.escape(name)}"]`)?.focus({ preventScroll: true });
    announce(`${name} ${state.selected.has(name) ? "on" : "off"}`);
  }

  function renderRecord() {
    const { record } = state;
    card.replaceChildren();
    card.dataset.recordId = record.record_id;
    card.setAttribute("aria-busy", "false");
    const top = h("div", { class: "record-top" });
    if (state.source === "queue") {
      top.append(
        scoreChip({ ...record, rank: 1 }, state.queue),
        h("span", { class: "mode", id: "record-mode" }, modeSentence(state.queue, stage)),
      );
    } else {
      top.append(
        h("span", { class: "chip chip-opened" }, state.reason || "Opened record"),
        state.from === "search"
          ? h("a", { class: "back-link", id: "back-to-search", href: searchHash() }, "← Back to the results")
          : "", // Element.append writes null as the text "null"
        decisionLine(state.decision),
      );
    }
    const title = h(
      "h2",
      { id: "record-title", tabindex: "-1" },
      highlight(record.title || "(no title)", terms),
    );
    const parts = [
      top,
      title,
      authorsLine(record.authors),
      sourceLine(record),
      studyTypeLine(record, async (studyType) => {
        try {
          const saved = await api.setStudyType(pid, record.record_id, studyType);
          record.study_type = saved.study_type;
          record.study_type_source = saved.study_type_source;
          announce(`Study type: ${STUDY_TYPES[saved.study_type]}`);
          return saved;
        } catch (error) {
          showError(error, card);
          return record;
        }
      }),
      abstractBlock(record.abstract, terms),
      keywordsLine(record, terms),
    ];
    const nearest = record.nearest_includes || [];
    if (nearest.length) {
      parts.push(
        h(
          "details",
          { class: "why" },
          h("summary", null, "Why here: the most similar included records"),
          h(
            "ul",
            null,
            nearest.map((n) =>
              h(
                "li",
                null,
                h("span", { class: "sim" }, n.similarity.toFixed(2)),
                " ",
                h(
                  "a",
                  { href: `#/p/${pid}/screen/${n.record_id}` },
                  n.title || `Record ${n.record_id}`,
                ),
              ),
            ),
          ),
        ),
      );
    }
    card.append(...parts.filter(Boolean));
    // Fields start from the record's current decision when it has one (a change of mind).
    const current = state.decision;
    const knownReason =
      current &&
      current.reason &&
      [...reasonSelect.options].some((o) => o.value === current.reason);
    if (current && current.reason && !knownReason)
      reasonSelect.append(h("option", { value: current.reason }, current.reason));
    reasonSelect.value = current && current.label === "exclude" ? current.reason || "" : "";
    otherInput.value = "";
    otherBox.hidden = true;
    note.value = current ? current.note || "" : "";
    renderChips();
    for (const button of buttons) {
      button.disabled = false;
      button.setAttribute(
        "aria-pressed",
        current && button.id === `decide-${current.label}` ? "true" : "false",
      );
    }
  }

  function renderDone(queue) {
    state = null;
    const why = atFullText
      ? "Only records included at title/abstract come to full text."
      : double
        ? "Your queue leaves out final records, those you decided and those two others decided."
        : `${plural(queue.unscreened, "record")} left to screen.`;
    card.replaceChildren(
      h(
        "h2",
        { id: "record-title", tabindex: "-1" },
        `Nothing left in your queue at ${STAGES[stage].toLowerCase()}`,
      ),
      h("p", null, why),
      h(
        "p",
        { class: "card-actions" },
        can(project, "maintainer")
          ? h("a", { class: "btn", href: `#/p/${pid}/import` }, "Import files")
          : null,
        h("a", { class: "btn", href: `#/p/${pid}/progress` }, "See progress"),
        atFullText
          ? null
          : h("a", { class: "btn", href: `#/p/${pid}/screen?stage=full_text` }, "Go to full text"),
      ),
    );
    card.setAttribute("aria-busy", "false");
    for (const button of buttons) button.disabled = true;
    chips.replaceChildren();
  }

  /** The record's stored themes (switched on) and the model's suggestions (shown, off): a
   * suggestion becomes a theme only when the reviewer switches it on. */
  async function selectedThemesOf(recordId, suggestions) {
    if (!themeNames.length) return { labelled: null, selected: new Set() };
    const themes = await api.recordThemes(pid, recordId);
    return {
      labelled: themes.labelled,
      selected: new Set(themes.labelled || []),
      suggestions: suggestions || themes.themes,
    };
  }

  /** Whether the reviewer changed the record's themes (a decision carries them only then). */
  function themesChanged() {
    const before = new Set(state.labelled || []);
    return (
      before.size !== state.selected.size || [...state.selected].some((t) => !before.has(t))
    );
  }

  async function loadQueue() {
    card.setAttribute("aria-busy", "true");
    const queue = await api.queue(pid, stage);
    if (!alive()) return null;
    if (!queue.items.length) {
      renderDone(queue);
      return null;
    }
    const item = queue.items[0];
    const themes = await selectedThemesOf(item.record_id, item.themes);
    if (!alive()) return null;
    state = {
      record: item,
      source: "queue",
      decision: null,
      queue,
      suggestions: item.themes,
      ...themes,
    };
    state.suggestions = item.themes;
    renderRecord();
    return item;
  }

  async function loadRecord(recordId, reason, from = null) {
    card.setAttribute("aria-busy", "true");
    const record = await api.record(pid, recordId, stage);
    const themes = await selectedThemesOf(recordId, null);
    if (!alive()) return null;
    state = { record, source: "record", decision: record.decision, reason, from, ...themes };
    renderRecord();
    return record;
  }

  let progressAsked = 0;
  // After a decision the figures are asked for again no sooner than PROGRESS_BACKOFF times
  // the last answer's time after that request: on a server answering in 50 ms, after every
  // decision; on one busy enough to take 500 ms (four reviewers clicking back to back on two
  // cores, bench/seed_scale.py), every 2 s, one refresh at the end of that time for the clicks
  // in between, instead of a request per click (it reads the whole history).
  const PROGRESS_BACKOFF = 4;
  let progressSent = -Infinity;
  let progressCost = 0;
  let progressTimer = null;
  let progressBusy = false; // a request is on its way: ask again once it is answered
  let progressAgain = false;

  function scheduleProgress() {
    if (progressBusy) {
      progressAgain = true;
      return;
    }
    if (progressTimer !== null) return; // a refresh is due already
    const wait = Math.max(0, progressSent + PROGRESS_BACKOFF * progressCost - Date.now());
    progressTimer = setTimeout(sendProgress, wait);
  }

  async function sendProgress() {
    progressTimer = null;
    if (!alive()) return;
    progressBusy = true;
    progressSent = Date.now();
    try {
      await refreshProgress();
    } catch (error) {
      showError(error, miniProgress);
    }
    progressCost = Date.now() - progressSent;
    progressBusy = false;
    if (progressAgain) {
      progressAgain = false;
      scheduleProgress();
    }
  }

  async function refreshProgress() {
    const asked = ++progressAsked;
    const progress = await api.progress(pid);
    if (!alive() || asked !== progressAsked) return; // a newer answer is on its way
    const counts = progress.stages[stage];
    stats.screened.textContent = counts.screened.toLocaleString();
    stats.total.textContent = counts.eligible.toLocaleString();
    stats.bar.max = Math.max(counts.eligible, 1);
    stats.bar.value = counts.screened;
    stats.included.textContent = counts.included.toLocaleString();
    stats.excluded.textContent = counts.excluded.toLocaleString();
    stats.mine.textContent = counts.mine ? counts.mine.screened.toLocaleString() : "–";
    if (atFullText) return;
    const words = estimateWords(progress.estimate);
    stats.remaining.replaceChildren(
      h("span", { class: "estimate-value", id: "estimate-value" }, words.value),
      words.interval ? h("span", { class: "estimate-interval" }, ` ${words.interval}`) : "",
    );
    stats.remaining.dataset.ready = words.ready ? "true" : "false";
    stats.remaining.title = words.howTo;
    stats.chart.replaceChildren(recallChart(progress, { compact: true, id: "mini-recall" }));
  }

  function focusCard() {
    // A new record starts at its title: scrolled to the top, focus on the title unless the
    // reviewer is on a control of the panel (then it stays there).
    window.scrollTo({ top: 0 });
    const active = document.activeElement;
    if (
      !active ||
      active === document.body ||
      !document.contains(active) ||
      card.contains(active) ||
      active === main
    ) {
      card.querySelector("#record-title")?.focus({ preventScroll: true });
    }
  }

  async function next(spoken) {
    const item = await loadQueue();
    if (!alive()) return;
    focusCard();
    announce(
      item
        ? `${spoken} Next: ${item.title || "a record without title"}.`
        : `${spoken} Nothing left in your queue.`,
    );
  }

  async function decide(label) {
    if (busy || !state) return;
    const { record } = state;
    const body = {
      label,
      stage,
      note: note.value.trim(),
      supersedes: state.decision ? state.decision.decision_id : null,
    };
    if (label === "exclude") {
      body.reason = reasonSelect.value === OTHER ? otherInput.value.trim() : reasonSelect.value;
      if (!body.reason && atFullText && reasons.length) {
        say("A full-text exclusion gives one of the project's reasons: choose one (R).", "error");
        reasonSelect.focus();
        return;
      }
    }
    const changedThemes = themeNames.length > 0 && themesChanged();
    if (changedThemes) body.themes = themeNames.filter((t) => state.selected.has(t));
    busy = true;
    buttons.forEach((b) => (b.disabled = true));
    say("");
    try {
      const made = await api.decide(pid, record.record_id, body);
      const stack = undoStack(pid, stage);
      stack.push({
        record_id: record.record_id,
        title: record.title || `Record ${record.record_id}`,
        label,
        decision_id: made.decision_id,
        previous: state.decision
          ? {
              label: state.decision.label,
              reason: state.decision.reason,
              note: state.decision.note,
            }
          : null,
        labelled: state.labelled,
        themes_changed: changedThemes,
      });
      saveUndo(pid, stage, stack);
      renderUndo();
      const spoken = `${DONE[label]}: ${record.title || "record"}.`;
      if (state.source === "record" && (state.from === "history" || state.from === "search")) {
        window.location.hash = state.from === "search" ? searchHash() : `#/p/${pid}/history`;
        announce(spoken);
        return;
      }
      if (state.source === "record") window.history.replaceState(null, "", `#/p/${pid}/screen`);
      // The next record is what the reviewer waits for: keys work again once it is shown,
      // while the progress figures catch up.
      scheduleProgress();
      await next(spoken);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        say(`${error.message} The record's current state is shown.`, "error");
        await loadRecord(record.record_id, "Changed meanwhile");
      } else {
        say(error.message, "error");
        buttons.forEach((b) => (b.disabled = false));
      }
    } finally {
      busy = false;
    }
  }

  async function undo() {
    if (busy) return;
    const stack = undoStack(pid, stage);
    const entry = stack.pop();
    if (!entry) {
      say("Nothing to undo.");
      return;
    }
    // Append-only: undo appends the state before the decision (or retracts a first one). In
    // blind double screening "before" is the reviewer's own earlier decision, and the API
    // refuses (409) once the record is final: then only a resolver changes it.
    const body = entry.previous ? { ...entry.previous, stage } : { label: "undecided", stage };
    // Themes go back only when the decision changed them ("undecided" withdraws its own).
    if (entry.themes_changed && (entry.previous || entry.labelled !== null))
      body.themes = entry.labelled || [];
    body.supersedes = entry.decision_id;
    busy = true;
    try {
      await api.decide(pid, entry.record_id, body);
      saveUndo(pid, stage, stack);
      renderUndo();
      window.history.replaceState(null, "", `#/p/${pid}/screen/${entry.record_id}`);
      await loadRecord(entry.record_id, "Undone: decide again");
      refreshProgress().catch((error) => showError(error, miniProgress));
      focusCard();
      say(`Undone: ${LABEL_NAMES[entry.label]} on “${entry.title}”. Decide again.`);
      announce(`Undone. ${entry.title} is shown again.`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        saveUndo(pid, stage, stack); // that decision is no longer the current one: it cannot be undone
        renderUndo();
      }
      say(error.message, "error");
    } finally {
      busy = false;
    }
  }

  function onKey(event) {
    const key = event.key.toLowerCase();
    if (key === "i" || key === "e" || key === "m") {
      decide({ i: "include", e: "exclude", m: "maybe" }[key]);
      return true;
    }
    if (key === "u") {
      undo();
      return true;
    }
    if (key === "r") {
      reasonSelect.focus();
      return true;
    }
    if (key === "n") {
      note.focus();
      return true;
    }
    if (/^[1-9]$/.test(key) && state && themeNames[Number(key) - 1]) {
      toggleTheme(themeNames[Number(key) - 1]);
      return true;
    }
    return false;
  }

  function failed(error) {
    if (!alive()) return;
    card.replaceChildren();
    card.setAttribute("aria-busy", "false");
    showError(error, card);
  }

  // Keys work as soon as the view is there; the record and the figures arrive when they can.
  renderUndo();
  refreshProgress().catch((error) => showError(error, miniProgress));
  if (ctx.arg) {
    const from = ctx.params.get("from");
    const opened = { history: "Opened from history", search: "Opened from search" }[from];
    loadRecord(Number(ctx.arg), opened || "Opened record", from).catch(failed);
  } else {
    loadQueue()
      .then(
        (item) => item && alive() && announce(`Next: ${item.title || "a record without title"}.`),
      )
      .catch(failed);
  }
  return { onKey };
}

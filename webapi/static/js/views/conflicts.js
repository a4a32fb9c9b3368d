// #/p/<id>/conflicts[?stage=full_text]: records whose two decisions disagree, one at a time,
// with both decisions (label, reason, note) side by side; a resolver settles each with a final
// include or exclude (origin "resolution"), by button or key.

import { api, ApiError } from "../api.js";
import { h, highlight, labelBadge, LABEL_NAMES, plural, termsOf, when } from "../dom.js";
import { abstractBlock, authorsLine, keywordsLine, sourceLine } from "../record.js";
import { announce, reasonsOf, showError, stageOf, STAGES, stageSwitch } from "../ui.js";

const RESOLVED = { include: "Resolved as include", exclude: "Resolved as exclude" };

function side(decision, index) {
  return h(
    "section",
    {
      class: ["card", "decision-side", `side-${decision.label}`],
      "aria-labelledby": `side-${index}-title`,
      "data-reviewer": decision.reviewer,
    },
    h(
      "h3",
      { id: `side-${index}-title` },
      h("span", { class: "side-who" }, decision.reviewer),
      labelBadge(decision.label),
    ),
    h(
      "dl",
      { class: "side-detail" },
      h("dt", null, "Reason"),
      h("dd", { class: decision.reason ? null : "muted" }, decision.reason || "None given"),
      h("dt", null, "Note"),
      h("dd", { class: decision.note ? "side-note" : "muted" }, decision.note || "None"),
      h("dt", null, "Decided"),
      h("dd", null, when(decision.created_at)),
    ),
  );
}

export async function show(main, ctx) {
  const { project, alive } = ctx;
  const pid = project.project_id;
  const stage = stageOf(project, ctx.params);
  const reasons = reasonsOf(project, stage);
  const terms = termsOf(project.question);
  let conflicts = [];
  let index = 0;
  let busy = false;

  const counter = h("p", { class: "conflict-count", id: "conflict-count", "aria-live": "polite" });
  const prev = h(
    "button",
    {
      type: "button",
      class: "btn btn-small",
      id: "conflict-prev",
      "aria-keyshortcuts": "k",
      onclick: () => move(-1),
    },
    "Previous ",
    h("kbd", { "aria-hidden": "true" }, "K"),
  );
  const next = h(
    "button",
    {
      type: "button",
      class: "btn btn-small",
      id: "conflict-next",
      "aria-keyshortcuts": "j",
      onclick: () => move(1),
    },
    "Next ",
    h("kbd", { "aria-hidden": "true" }, "J"),
  );
  const body = h("div", { class: "conflict-body", id: "conflict", "aria-busy": "true" });
  const message = h("div", { class: "panel-message", "aria-live": "assertive" });
  const buttons = ["include", "exclude"].map((label) =>
    h(
      "button",
      {
        type: "button",
        class: ["btn", "btn-decide", `btn-${label}`],
        id: `resolve-${label}`,
        "aria-keyshortcuts": label[0],
        onclick: () => resolve(label),
      },
      LABEL_NAMES[label],
      " ",
      h("kbd", { "aria-hidden": "true" }, label[0].toUpperCase()),
    ),
  );
  const reasonSelect = h(
    "select",
    { id: "resolve-reason", name: "reason", "aria-keyshortcuts": "r" },
    h(
      "option",
      { value: "" },
      reasons.length && stage === "full_text" ? "Choose a reason" : "None",
    ),
    reasons.map((r) => h("option", { value: r }, r)),
  );
  const reasonField = reasons.length
    ? h(
        "div",
        { class: "field" },
        h(
          "label",
          { for: "resolve-reason" },
          "Exclusion reason ",
          h("span", { class: "hint" }, "(R)"),
        ),
        reasonSelect,
      )
    : h(
        "div",
        { class: "field" },
        h(
          "label",
          { for: "resolve-reason-text" },
          "Exclusion reason ",
          h("span", { class: "hint" }, "(R)"),
        ),
        h("input", { id: "resolve-reason-text", name: "reason", type: "text", maxlength: 500 }),
      );
  const reasonInput = reasons.length ? reasonSelect : reasonField.querySelector("input");
  const note = h("textarea", {
    id: "resolve-note",
    name: "note",
    rows: 2,
    "aria-keyshortcuts": "n",
  });
  const panel = h(
    "aside",
    { class: "panel", "aria-label": "Resolution" },
    h(
      "section",
      { class: "card decide-card", "aria-labelledby": "resolve-title" },
      h("h2", { id: "resolve-title" }, "Final decision"),
      message,
      h(
        "div",
        { class: "decide-buttons resolve-buttons", role: "group", "aria-label": "Resolve" },
        buttons,
      ),
      reasonField,
      h(
        "div",
        { class: "field" },
        h("label", { for: "resolve-note" }, "Note ", h("span", { class: "hint" }, "(N)")),
        note,
      ),
      h(
        "p",
        { class: "hint" },
        "The resolution is the record's final decision; both reviewers' decisions stay in its history.",
      ),
    ),
    h(
      "p",
      { class: "shortcut-line" },
      h("kbd", null, "I"),
      " include ",
      h("kbd", null, "E"),
      " exclude ",
      h("kbd", null, "J"),
      " next ",
      h("kbd", null, "K"),
      " previous ",
      h("kbd", null, "?"),
      " help",
    ),
  );

  main.append(
    h("h1", null, `Conflicts · ${project.name}`),
    h(
      "div",
      { class: "screen-toolbar" },
      stageSwitch(stage, (s) => `#/p/${pid}/conflicts?stage=${s}`),
      h("div", { class: "conflict-nav" }, counter, prev, next),
    ),
    h("div", { class: "screen-layout conflict-layout" }, body, panel),
  );

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

  function render() {
    body.setAttribute("aria-busy", "false");
    const stageName = STAGES[stage].toLowerCase();
    counter.textContent = conflicts.length
      ? `Conflict ${index + 1} of ${conflicts.length} at ${stageName}`
      : `No conflict at ${stageName}`;
    prev.disabled = index <= 0;
    next.disabled = index >= conflicts.length - 1;
    for (const button of buttons) button.disabled = !conflicts.length;
    if (!conflicts.length) {
      delete body.dataset.recordId;
      body.replaceChildren(
        h(
          "article",
          { class: "card record" },
          h("h2", { id: "record-title", tabindex: "-1" }, "Nothing to resolve"),
          h(
            "p",
            null,
            "A record comes here when two reviewers' decisions disagree, or either is maybe.",
          ),
        ),
      );
      return;
    }
    const conflict = conflicts[index];
    const { record } = conflict;
    body.dataset.recordId = conflict.record_id;
    body.replaceChildren(
      h(
        "section",
        { class: "sides", "aria-label": "The two decisions" },
        conflict.decisions.map((d, i) => side(d, i)),
      ),
      h(
        "article",
        { class: "card record", "aria-labelledby": "record-title" },
        h(
          "h2",
          { id: "record-title", tabindex: "-1" },
          highlight(record.title || "(no title)", terms),
        ),
        authorsLine(record.authors),
        sourceLine(record),
        abstractBlock(record.abstract, terms),
        keywordsLine(record, terms),
      ),
    );
    reasonInput.value = "";
    note.value = "";
    say("");
  }

  function focusTitle() {
    const active = document.activeElement;
    if (!active || active === document.body || active === main || !document.contains(active))
      body.querySelector("#record-title")?.focus({ preventScroll: true });
  }

  function move(step) {
    const to = index + step;
    if (busy || to < 0 || to >= conflicts.length) return;
    index = to;
    render();
    window.scrollTo({ top: 0 });
    body.querySelector("#record-title")?.focus({ preventScroll: true });
    announce(`Conflict ${index + 1} of ${conflicts.length}: ${conflicts[index].record.title}.`);
  }

  async function load() {
    body.setAttribute("aria-busy", "true");
    conflicts = await api.conflicts(pid, stage);
    if (!alive()) return;
    index = Math.min(index, Math.max(conflicts.length - 1, 0));
    render();
  }

  async function resolve(label) {
    if (busy || !conflicts.length) return;
    const conflict = conflicts[index];
    const reason = label === "exclude" ? reasonInput.value.trim() : "";
    if (label === "exclude" && !reason && reasons.length && stage === "full_text") {
      say("A full-text exclusion gives one of the project's reasons: choose one (R).", "error");
      reasonInput.focus();
      return;
    }
    busy = true;
    buttons.forEach((b) => (b.disabled = true));
    try {
      await api.decide(pid, conflict.record_id, {
        label,
        stage,
        origin: "resolution",
        reason,
        note: note.value.trim(),
        // The newest of the two decisions: a reviewer who changed theirs meanwhile gets a 409.
        supersedes: Math.max(...conflict.decisions.map((d) => d.decision_id)),
      });
      const title = conflict.record.title || `record ${conflict.record_id}`;
      conflicts.splice(index, 1);
      index = Math.min(index, Math.max(conflicts.length - 1, 0));
      render();
      const left = conflicts.length
        ? `${plural(conflicts.length, "conflict")} left.`
        : "No conflict left.";
      say(`${RESOLVED[label]}: “${title}”. ${left}`);
      announce(`${RESOLVED[label]}. ${left}`);
      focusTitle();
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        await load();
        say(`${error.message} The conflicts are shown as they are now.`, "error");
      } else {
        say(error.message, "error");
        buttons.forEach((b) => (b.disabled = false));
      }
    } finally {
      busy = false;
    }
  }

  function onKey(event) {
    const key = event.key.toLowerCase();
    const action = {
      i: () => resolve("include"),
      e: () => resolve("exclude"),
      j: () => move(1),
      k: () => move(-1),
      r: () => reasonInput.focus(),
      n: () => note.focus(),
    }[key];
    if (!action) return false;
    action();
    return true;
  }

  load()
    .then(() => alive() && focusTitle())
    .catch((error) => alive() && showError(error, body));
  return { onKey };
}

// The recall curve as inline SVG: included records found against records screened, with the
// line screening in random order would follow (no chart library, nothing fetched).

import { h, svg } from "./dom.js";

function niceStep(max, ticks) {
  const raw = Math.max(1, max) / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return Math.max(1, step);
}

/**
 * An <svg> of ``progress.recall_curve``. ``compact`` draws a small chart without axis titles
 * (the screening view's panel); the full one has axes, ticks and a legend.
 */
export function recallChart(progress, { compact = false, id = "recall-chart", width: fit } = {}) {
  const curve = progress.recall_curve || [];
  // Drawn at about the size it is shown (``fit``), so its text stays legible when narrow.
  const width = compact ? 240 : Math.round(Math.max(300, Math.min(720, fit || 720)));
  const height = compact ? 72 : Math.round(Math.min(340, width * 0.55));
  const pad = compact ? { l: 22, r: 8, t: 6, b: 16 } : { l: 56, r: 20, t: 16, b: 52 };
  const last = curve.length ? curve[curve.length - 1] : { screened: 0, included: 0 };
  const estimate = progress.estimate || {};
  const expectedTotal = progress.included + (estimate.expected || 0);
  const xStep = niceStep(Math.max(last.screened, 10), compact ? 2 : width < 500 ? 4 : 6);
  const yRaw = Math.max(
    last.included,
    Math.ceil(expectedTotal * (last.screened / Math.max(progress.records, 1))),
    4,
  );
  const yStep = niceStep(yRaw, compact ? 1 : 5);
  // Axes end on a tick, with room above the curve.
  const xMax = Math.ceil(Math.max(last.screened, 10) / xStep) * xStep;
  const yMax = Math.ceil((yRaw + (compact ? 0 : 0.5)) / yStep) * yStep;
  const x = (v) => pad.l + (v / xMax) * (width - pad.l - pad.r);
  const y = (v) => height - pad.b - (v / yMax) * (height - pad.t - pad.b);

  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  const description = curve.length
    ? `After ${last.screened} records screened, ${last.included} included records found.`
    : "No record screened yet.";
  const chart = svg(
    "svg",
    {
      id,
      class: compact ? "chart chart-compact" : "chart",
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-labelledby": `${titleId} ${descId}`,
      preserveAspectRatio: "xMidYMid meet",
    },
    svg("title", { id: titleId }, "Recall curve"),
    svg("desc", { id: descId }, description),
  );
  const grid = svg("g", { class: "grid" });
  for (let v = 0; v <= yMax; v += yStep) {
    grid.append(svg("line", { x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v) }));
    grid.append(
      svg("text", { x: pad.l - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, String(v)),
    );
  }
  for (let v = 0; v <= xMax; v += xStep) {
    grid.append(
      svg(
        "text",
        {
          x: x(v),
          y: height - pad.b + (compact ? 12 : 18),
          class: "tick",
          "text-anchor": "middle",
        },
        String(v),
      ),
    );
  }
  chart.append(grid);
  chart.append(svg("line", { class: "axis", x1: pad.l, x2: width - pad.r, y1: y(0), y2: y(0) }));
  chart.append(svg("line", { class: "axis", x1: pad.l, x2: pad.l, y1: pad.t, y2: y(0) }));

  if (progress.records && expectedTotal > 0 && last.screened > 0) {
    // Random order finds includes at the project's (estimated) rate of relevant records.
    const rate = expectedTotal / progress.records;
    chart.append(
      svg("line", {
        class: "random",
        x1: x(0),
        y1: y(0),
        x2: x(last.screened),
        y2: y(rate * last.screened),
      }),
    );
  }
  if (curve.length) {
    const points = [[0, 0], ...curve.map((p) => [p.screened, p.included])];
    const path = points
      .map(([sx, sy], i) => `${i ? "L" : "M"}${x(sx).toFixed(1)},${y(sy).toFixed(1)}`)
      .join(" ");
    chart.append(svg("path", { class: "curve", d: path, "data-points": curve.length }));
    chart.append(
      svg("circle", {
        class: "curve-end",
        cx: x(last.screened),
        cy: y(last.included),
        r: compact ? 3 : 4.5,
      }),
    );
  }
  if (!compact) {
    chart.append(
      svg(
        "text",
        {
          class: "axis-title",
          x: pad.l + (width - pad.l - pad.r) / 2,
          y: height - 10,
          "text-anchor": "middle",
        },
        "Records screened",
      ),
      svg(
        "text",
        {
          class: "axis-title",
          x: 16,
          y: pad.t + (height - pad.t - pad.b) / 2,
          "text-anchor": "middle",
          transform: `rotate(-90 16 ${pad.t + (height - pad.t - pad.b) / 2})`,
        },
        "Included records found",
      ),
    );
  }
  return chart;
}

/** The legend under the full chart. */
export function chartLegend(progress) {
  const items = [
    h(
      "li",
      null,
      h("span", { class: "swatch swatch-curve", "aria-hidden": "true" }),
      "Included records found so far",
    ),
  ];
  if (progress.estimate && progress.estimate.expected !== null) {
    items.push(
      h(
        "li",
        null,
        h("span", { class: "swatch swatch-random", "aria-hidden": "true" }),
        "Screening in random order (expected)",
      ),
    );
  }
  return h("ul", { class: "legend" }, items);
}

/** The curve's points as a table, for reading with a screen reader or copying. */
export function curveTable(progress) {
  return h(
    "details",
    { class: "curve-table" },
    h("summary", null, "The curve as a table"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { scope: "col" }, "Screened"),
            h("th", { scope: "col" }, "Included found"),
          ),
        ),
        h(
          "tbody",
          null,
          (progress.recall_curve || []).map((p) =>
            h(
              "tr",
              null,
              h("td", { class: "num" }, p.screened),
              h("td", { class: "num" }, p.included),
            ),
          ),
        ),
      ),
    ),
  );
}

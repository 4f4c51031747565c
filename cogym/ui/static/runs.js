// The runs page: returns over trials from /api/runs, drawn with uPlot, polled for new trials.
"use strict";
(() => {
  const chart = document.getElementById("runs-chart");
  const count = document.getElementById("runs-count");
  const windowText = document.getElementById("runs-window");
  const updated = document.getElementById("runs-updated");
  const error = document.getElementById("runs-error");
  const seriesTable = document.getElementById("runs-series");
  const poll = Number(chart.dataset.poll) || 1000;
  const colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  // The page's own parameters (filters, split, window...), passed on to the JSON route.
  let params = {};
  for (const [key, value] of new URLSearchParams(location.search)) {
    if (key === "token" || value === "") continue;
    (params[key] = params[key] || []).push(value);
  }

  let plot = null;
  let labels = "";
  let stamp = null;
  let phases = [];

  // uPlot wants one x array and y arrays aligned with it: trials 0..count-1, gaps as null.
  function columns(data) {
    const x = Array.from({ length: data.count }, (_, i) => i);
    const ys = [];
    for (const s of data.series) {
      const dots = new Array(data.count).fill(null);
      s.x.forEach((position, i) => { dots[position] = s.y[i]; });
      const mean = new Array(data.count).fill(null);
      s.mean_x.forEach((position, i) => { mean[position] = s.mean[i]; });
      ys.push(dots, mean);
    }
    return [x, ...ys];
  }

  function shadePhases(u) {
    const ctx = u.ctx;
    const { top, height } = u.bbox;
    ctx.save();
    ctx.font = `${Math.round(11 * devicePixelRatio)}px sans-serif`;
    ctx.textAlign = "center";
    phases.forEach(([value, first, last], number) => {
      const left = u.valToPos(first - 0.5, "x", true);
      const right = u.valToPos(last + 0.5, "x", true);
      if (number % 2) {
        ctx.fillStyle = "rgba(0, 0, 0, 0.06)";
        ctx.fillRect(left, top, right - left, height);
      }
      ctx.fillStyle = "#444";
      ctx.fillText(String(value), (left + right) / 2, top + 12 * devicePixelRatio);
    });
    ctx.restore();
  }

  function build(data) {
    const series = [{ label: "trial" }];
    data.series.forEach((s, i) => {
      const color = colors[i % colors.length];
      series.push({ label: s.label, stroke: color, paths: () => null,
        points: { show: true, size: 4, fill: color } });
      series.push({ label: `${s.label} (mean of ${data.window})`, stroke: color, width: 2,
        spanGaps: true, points: { show: false } });
    });
    const options = {
      width: Math.max(400, chart.clientWidth || 900),
      height: 420,
      scales: { x: { time: false } },
      axes: [{ label: "trial (in start order)" }, { label: "return" }],
      series,
      hooks: { drawAxes: [shadePhases] },
    };
    if (plot) plot.destroy();
    chart.replaceChildren();
    plot = new uPlot(options, columns(data), chart);
  }

  // One row per series: its numbers, and a link to the model its implementation names.
  function listSeries(data) {
    const rows = data.series.map((s) => {
      const row = cogym.el("tr");
      row.append(cogym.el("td", s.label), cogym.el("td", s.trials, { class: "num" }),
        cogym.el("td", cogym.number(s.mean_return), { class: "num" }),
        cogym.el("td", cogym.number(s.last_mean), { class: "num" }));
      const cell = cogym.el("td");
      if (s.model) {
        cell.append(cogym.el("a", s.model.ref, { href: cogym.href(s.model.path), class: "model-link" }));
      }
      row.append(cell);
      return row;
    });
    seriesTable.querySelector("tbody").replaceChildren(...rows);
  }

  function show(data) {
    listSeries(data);
    phases = data.phases;
    const names = `${data.window}|` + data.series.map((s) => s.label).join("\u0000");
    if (plot === null || names !== labels) {
      build(data);
      labels = names;
    } else {
      plot.setData(columns(data));
    }
    const points = data.series.reduce((sum, s) => sum + s.x.length, 0);
    chart.dataset.points = String(points);
    // for bench/ui_runs.py: when the first curves were drawn, on the page's clock
    if (!window.cogymRuns) {
      window.cogymRuns = {};
      requestAnimationFrame(() => { window.cogymRuns.drawn = performance.now(); });
    }
    chart.dataset.series = String(data.series.length);
    count.textContent = String(data.count);
    const thinned = data.series.some((s) => s.x.length < s.trials);
    windowText.textContent = `${data.window} trial${data.window === 1 ? "" : "s"}` +
      (thinned ? " (long series thinned: the lowest and highest return of each run of trials)" : "");
  }

  // The form changes the parameters in place (and in the address bar, to link to the view).
  document.getElementById("runs-form").addEventListener("submit", (event) => {
    event.preventDefault();
    params = {};
    for (const [key, value] of new FormData(event.target)) {
      if (value !== "") (params[key] = params[key] || []).push(value);
    }
    history.replaceState(null, "", cogym.href("/runs", params));
    stamp = null;
    labels = "";
    clearTimeout(timer);
    refresh();
  });

  let timer = null;
  async function refresh() {
    try {
      const data = await cogym.api("/api/runs", { ...params, known: stamp });
      if (data.changed) show(data);
      stamp = data.stamp;
      error.hidden = true;
      updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
    timer = setTimeout(refresh, poll);
  }

  refresh();
})();

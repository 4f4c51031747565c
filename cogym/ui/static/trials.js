// The trials table: filters and sort in the URL, rows from /api/trials, live by polling.
"use strict";
(() => {
  const { api, el, href, number, time } = cogym;
  const form = document.getElementById("filters");
  const tbody = document.querySelector("#trials tbody");
  const error = document.getElementById("error");
  const FIELDS = ["state", "tag", "env", "implementation", "with_actor", "min_return",
    "max_return", "since", "until"];
  const POLL_MS = 1000;
  let state = readState();
  let version = null;
  let loading = null;

  function readState() {
    const q = new URLSearchParams(location.search);
    const s = { sort: q.get("sort") || "started", order: q.get("order") || "desc",
      offset: Number(q.get("offset") || 0), limit: Number(q.get("limit") || 50) };
    for (const name of FIELDS) s[name] = q.get(name) || "";
    return s;
  }

  function params() {
    const p = {};
    for (const [key, value] of Object.entries(state)) if (value !== "") p[key] = value;
    return p;
  }

  function showState() {
    for (const name of FIELDS) form.elements[name].value = state[name];
    for (const th of document.querySelectorAll("th[data-sort]")) {
      th.classList.toggle("sorted-asc", th.dataset.sort === state.sort && state.order === "asc");
      th.classList.toggle("sorted-desc", th.dataset.sort === state.sort && state.order === "desc");
    }
    history.replaceState(null, "", href("/trials", params()));
  }

  function mapping(values, digits) {
    const parts = Object.entries(values || {}).map(([k, v]) =>
      `${k}: ${digits === undefined ? v : number(v, digits)}`);
    return parts.join("\n");
  }

  function render(data) {
    const rows = data.rows.map((r) => {
      const tr = el("tr", null, { "data-id": r.id });
      const id = el("td", null, { class: "mono" });
      id.append(el("a", r.id, { href: href(`/trials/${encodeURIComponent(r.id)}`) }));
      const spec = el("td");
      spec.append(el("div", r.environment, { class: "mono" }));
      const tags = mapping(r.tags);
      if (tags) spec.append(el("div", tags.replace(/\n/g, ", "), { class: "hint tags" }));
      const stateCell = el("td");
      stateCell.append(el("span", r.state, { class: `badge ${r.state}` }));
      tr.append(id, spec, stateCell, el("td", r.ticks, { class: "num" }),
        el("td", mapping(r.returns, 2), { class: "num pre returns" }),
        el("td", mapping(r.implementations), { class: "pre mono implementations" }),
        el("td", time(r.started), { class: "when" }), el("td", number(r.duration, 3), { class: "num" }),
        el("td", r.error || "", { class: "error" }));
      return tr;
    });
    tbody.replaceChildren(...rows);
    const last = Math.min(data.offset + data.rows.length, data.total);
    document.getElementById("total").textContent = `${data.total} trial(s)`;
    document.getElementById("range").textContent =
      data.total ? `${data.offset + 1}–${last} of ${data.total}` : "no trials match";
    document.getElementById("prev").disabled = data.offset === 0;
    document.getElementById("next").disabled = last >= data.total;
    const problems = document.getElementById("problems");
    problems.replaceChildren(...data.problems.map((text) => el("p", text)));
    problems.hidden = data.problems.length === 0;
    version = data.version;
    if (!window.cogymTable) {
      // when the first rows are painted, in ms since the navigation started (for bench/ui.py)
      window.cogymTable = {};
      requestAnimationFrame(() => { window.cogymTable.shown = performance.now(); });
    }
  }

  async function load() {
    const asked = JSON.stringify(state);
    loading = asked;
    try {
      const data = await api("/api/trials", params());
      if (loading !== asked) return;
      error.hidden = true;
      render(data);
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  }

  function change(update) {
    Object.assign(state, update);
    showState();
    load();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const update = { offset: 0 };
    for (const name of FIELDS) update[name] = form.elements[name].value.trim();
    change(update);
  });
  form.addEventListener("reset", (event) => {
    event.preventDefault();
    const update = { offset: 0 };
    for (const name of FIELDS) update[name] = "";
    change(update);
  });
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.addEventListener("click", () => {
      const same = state.sort === th.dataset.sort;
      change({ sort: th.dataset.sort, order: same && state.order === "desc" ? "asc" : "desc",
        offset: 0 });
    });
  }
  document.getElementById("prev").addEventListener("click", () =>
    change({ offset: Math.max(0, state.offset - state.limit) }));
  document.getElementById("next").addEventListener("click", () =>
    change({ offset: state.offset + state.limit }));

  async function poll() {
    if (document.getElementById("live").checked && version !== null) {
      try {
        const now = await api("/api/trials/version");
        if (now.version !== version) await load();
      } catch (e) {
        error.textContent = `live updates stopped: ${e.message}`;
        error.hidden = false;
      }
    }
    setTimeout(poll, POLL_MS);
  }

  showState();
  load();
  setTimeout(poll, POLL_MS);
})();

// One trial: summary, curves (uPlot), rewards and messages sent, notes, and the replay player.
"use strict";
(() => {
  const { api, el, href, number, time } = cogym;
  const trialId = document.getElementById("trial-id").textContent;
  const error = document.getElementById("error");
  const COLORS = ["#36c", "#c33", "#2a7", "#e93", "#93c", "#888"];

  function show(id, value) {
    const node = document.getElementById(id);
    node.textContent = value === undefined ? "" : typeof value === "string" ? value
      : JSON.stringify(value, null, 1);
  }

  function summary(data) {
    const s = data.summary;
    const items = [["state", s.state], ["environment", s.environment], ["ticks", s.ticks],
      ["seed", data.seed === null ? "–" : data.seed], ["started", time(s.started)],
      ["duration", `${number(s.duration, 3)} s`]];
    for (const [actor, impl] of Object.entries(s.implementations)) items.push([`${actor}`, impl]);
    for (const [actor, ret] of Object.entries(s.returns)) items.push([`return of ${actor}`, number(ret, 3)]);
    for (const [key, value] of Object.entries(s.tags)) items.push([`tag ${key}`, String(value)]);
    if (s.error) items.push(["error", s.error]);
    const dl = document.getElementById("summary");
    for (const [k, v] of items) dl.append(el("dt", k), el("dd", v));
  }

  function curves(data) {
    const ticks = data.ticks.map((t) => t.tick);
    const box = document.getElementById("curves");
    if (!ticks.length) { box.append(el("p", "no ticks recorded", { class: "hint" })); return; }
    const returns = [], rewards = [];
    for (const actor of data.actors) {
      let sum = 0;
      const r = data.ticks.map((t) => (actor in t.rewards ? t.rewards[actor] : null));
      rewards.push(r);
      returns.push(r.map((v) => (sum += v || 0)));
    }
    const series = (label) => [{ label: "tick" }, ...data.actors.map((a, i) =>
      ({ label: `${label} ${a}`, stroke: COLORS[i % COLORS.length], width: 1.5 }))];
    for (const [title, values] of [["return", returns], ["reward", rewards]]) {
      const holder = el("div", null, { class: `curve curve-${title}` });
      box.append(holder);
      new uPlot({ title: `${title} per actor`, width: 560, height: 240, series: series(title),
        scales: { x: { time: false } } }, [ticks, ...values], holder);
    }
  }

  function table(id, rows) {
    const body = document.querySelector(`#${id} tbody`);
    for (const cells of rows) {
      const tr = el("tr");
      for (const c of cells) tr.append(el("td", typeof c === "object" ? JSON.stringify(c) : c));
      body.append(tr);
    }
    if (!rows.length) {
      const tr = el("tr");
      tr.append(el("td", "none", { class: "hint", colspan: "5" }));
      body.append(tr);
    }
  }

  function notes(data) {
    const counts = new Map();
    for (const t of data.ticks) {
      for (const [actor, note] of Object.entries(t.notes)) {
        if (!note || typeof note !== "object" || !("by" in note)) continue;
        const key = `${String(note.by)}\u0000${actor}`;
        counts.set(key, (counts.get(key) || 0) + 1);
      }
    }
    table("notes", [...counts].map(([key, n]) => [...key.split("\u0000"), n]));
  }

  function player(data) {
    const ticks = data.ticks;
    const canvas = document.getElementById("frame");
    const context = canvas.getContext("2d");
    const seek = document.getElementById("seek");
    const playButton = document.getElementById("play");
    const fps = document.getElementById("fps");
    const frameTicks = new Set(data.frames.ticks);
    const images = new Map();
    const stats = { drawn: 0, playing: false, loaded: 0 };
    window.cogymReplay = stats;
    let index = 0, timer = null, last = 0;
    seek.max = String(Math.max(0, ticks.length - 1));
    document.getElementById("frames-how").textContent = data.frames.how === "none" ? ""
      : `(${data.frames.how} frames)`;
    const note = document.getElementById("no-frames");
    if (!frameTicks.size) note.textContent = data.frames.note || "this trial has no frames";
    else {
      canvas.hidden = false;
      note.textContent = data.frames.note || "";
    }
    note.hidden = !note.textContent;

    function load(tick) {
      if (!frameTicks.has(tick) || images.has(tick)) return images.get(tick);
      const image = new Image();
      const entry = { image, ready: false };
      images.set(tick, entry);
      image.onload = () => { entry.ready = true; stats.loaded += 1; if (ticks[index] && ticks[index].tick === tick) draw(); };
      image.src = href(`/api/trials/${encodeURIComponent(trialId)}/frames/${tick}`);
      return entry;
    }

    function draw() {
      const entry = images.get(ticks[index].tick);
      if (!entry || !entry.ready) return false;
      const image = entry.image;
      if (canvas.width !== image.naturalWidth) canvas.width = image.naturalWidth;
      if (canvas.height !== image.naturalHeight) canvas.height = image.naturalHeight;
      context.drawImage(image, 0, 0);
      stats.drawn += 1;
      return true;
    }

    function go(i) {
      index = Math.max(0, Math.min(ticks.length - 1, i));
      const t = ticks[index];
      seek.value = String(index);
      show("shown-tick", String(t.tick));
      document.getElementById("shown-tick").dataset.tick = String(t.tick);
      show("shown-action", t.actions);
      show("shown-rewards", t.rewards);
      show("shown-notes", t.notes);
      show("shown-observation", t.observations);
      load(t.tick);
      for (let k = 1; k <= 30 && index + k < ticks.length; k++) load(ticks[index + k].tick);
      draw();
    }

    function frame(now) {
      if (!stats.playing) return;
      const wait = 1000 / Math.max(1, Number(fps.value) || 30);
      if (now - last >= wait - 1) {
        if (index >= ticks.length - 1) { pause(); return; }
        const next = images.get(ticks[index + 1].tick);
        if (!frameTicks.has(ticks[index + 1].tick) || (next && next.ready)) {
          last = now;
          go(index + 1);
        }
      }
      timer = requestAnimationFrame(frame);
    }
    function play() {
      if (index >= ticks.length - 1) go(0);
      stats.playing = true;
      playButton.textContent = "❚❚ pause";
      last = 0;
      timer = requestAnimationFrame(frame);
    }
    function pause() {
      stats.playing = false;
      playButton.textContent = "▶ play";
      if (timer) cancelAnimationFrame(timer);
    }
    playButton.addEventListener("click", () => (stats.playing ? pause() : play()));
    document.getElementById("step").addEventListener("click", () => { pause(); go(index + 1); });
    document.getElementById("step-back").addEventListener("click", () => { pause(); go(index - 1); });
    seek.addEventListener("input", () => { pause(); go(Number(seek.value)); });
    document.addEventListener("keydown", (event) => {
      if (event.target.tagName === "INPUT" && event.target.type !== "range") return;
      if (event.key === " ") { event.preventDefault(); stats.playing ? pause() : play(); }
      else if (event.key === "ArrowRight") { event.preventDefault(); pause(); go(index + 1); }
      else if (event.key === "ArrowLeft") { event.preventDefault(); pause(); go(index - 1); }
      else if (event.key === "Home") { pause(); go(0); }
      else if (event.key === "End") { pause(); go(ticks.length - 1); }
    });
    if (ticks.length) go(0);
    else for (const b of document.querySelectorAll(".controls button")) b.disabled = true;
  }

  api(`/api/trials/${encodeURIComponent(trialId)}`).then((data) => {
    summary(data);
    player(data);
    curves(data);
    table("rewards-sent", data.rewards_sent.map((r) =>
      [r.tick, r.sender, r.receiver, number(r.value, 3), number(r.confidence, 2)]));
    table("messages", data.messages.map((m) => [m.tick, m.sender, m.receiver, m.payload]));
    notes(data);
    show("spec", data.spec);
    document.body.dataset.loaded = "yes";
  }).catch((e) => { error.textContent = e.message; error.hidden = false; });
})();

// The preference page: two clips side by side, looping; the person says which is better.
// Protocol: see cogym/web/prefer_protocol.py. window.cogymPrefer holds the state (for tests).
"use strict";

(() => {
  const token = document.querySelector('meta[name="cogym-token"]').content;
  const pageId = document.querySelector('meta[name="cogym-page"]').content;
  const $ = (id) => document.getElementById(id);
  const SIDES = ["left", "right"];
  const canvases = { left: $("left"), right: $("right") };

  const state = {
    socket: null,
    finished: false,
    query: null, // the query shown: its id and segments
    clips: { left: [], right: [] }, // ImageBitmaps by frame index
    loaded: { left: 0, right: 0 },
    frame: 0,
    fps: 10,
    keys: new Map(), // KeyboardEvent.key -> answer
    sent: null, // the answer waiting for the server's "saved" or "error"
    answered: 0,
    asked: 0,
    errors: [],
    saved: [],
  };
  window.cogymPrefer = state;

  // -- the socket --------------------------------------------------------------------------

  function connect() {
    const url = `ws://${location.host}/ws/prefer/${encodeURIComponent(pageId)}?token=${encodeURIComponent(token)}`;
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    state.socket = socket;
    setConnection("connecting…", "");
    socket.onopen = () => setConnection("connected", "ok");
    socket.onmessage = (event) => {
      if (typeof event.data === "string") onText(JSON.parse(event.data));
      else onClip(event.data);
    };
    socket.onclose = (event) => {
      if (state.finished) return;
      state.sent = null;
      const why = event.code === 1009 ? " (a message was too big)" : event.code === 1008 ? " (refused)" : "";
      if (event.code === 1009) showError("the last message was too big and the server closed the connection; nothing was stored");
      setConnection(`disconnected${why}, reconnecting…`, "bad");
      setTimeout(connect, 1000);
    };
  }

  function send(message) {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      showError("not connected: the answer was not sent");
      return false;
    }
    socket.send(typeof message === "string" ? message : JSON.stringify(message));
    return true;
  }

  function setConnection(text, kind) {
    const badge = $("connection");
    badge.textContent = text;
    badge.className = `badge ${kind}`;
  }

  // -- messages from the server ------------------------------------------------------------

  function onText(message) {
    if ("answered" in message) setProgress(message.answered, message.asked);
    switch (message.type) {
      case "hello": return onHello(message);
      case "query": return onQuery(message);
      case "saved": return onSaved(message);
      case "progress": return undefined;
      case "waiting": return onWaiting();
      case "error": return onError(message.message);
      case "replaced":
        state.finished = true;
        setConnection("opened in another tab", "bad");
        return finish("This page was opened in another tab.");
      case "closed":
        state.finished = true;
        setConnection("session over", "");
        return finish(`Session over: ${message.answered} answered, all stored. Thank you! You can close this tab.`);
      default:
        return onError(`unknown message from the server: ${message.type}`);
    }
  }

  function onHello(hello) {
    state.fps = hello.fps || 10;
    state.keys = new Map();
    for (const [answer, keys] of Object.entries(hello.keys)) for (const key of keys) state.keys.set(key, answer);
    $("judge").textContent = hello.judge;
    restartLoop();
  }

  function onQuery(query) {
    for (const side of SIDES) for (const bitmap of state.clips[side]) if (bitmap) bitmap.close();
    state.query = query;
    state.clips = { left: new Array(query.left.frames), right: new Array(query.right.frames) };
    state.loaded = { left: 0, right: 0 };
    state.frame = 0;
    state.sent = null;
    for (const side of SIDES) {
      const s = query[side];
      const caption = $(`${side}-caption`);
      caption.textContent = `ticks ${s.first}–${s.last}`;
      caption.title = `trial ${s.trial_id}, actor ${s.actor}`;
      $(`${side}-clip`).classList.remove("chosen");
    }
    overlay(null);
    setState("loading");
    enableAnswers(true);
  }

  function onClip(buffer) {
    const view = new DataView(buffer);
    const length = view.getUint32(0);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
    const query = state.query;
    if (!query || header.query_id !== query.query_id) return; // a clip of a query already left
    const blob = new Blob([new Uint8Array(buffer, 4 + length)], { type: header.mime });
    createImageBitmap(blob).then((bitmap) => {
      if (state.query !== query) return bitmap.close();
      const clip = state.clips[header.side];
      if (!clip[header.index]) state.loaded[header.side] += 1;
      clip[header.index] = bitmap;
      const canvas = canvases[header.side];
      if (canvas.width !== bitmap.width) canvas.width = bitmap.width;
      if (canvas.height !== bitmap.height) canvas.height = bitmap.height;
      if (state.loaded.left === state.clips.left.length && state.loaded.right === state.clips.right.length) setState("ready");
    }, () => onError(`could not decode frame ${header.index} of the ${header.side} clip`));
  }

  function onSaved(message) {
    state.saved.push({ query_id: message.query_id, answer: message.answer });
    if (state.query && state.query.query_id === message.query_id) {
      state.query = null;
      setState("saved");
    }
    state.sent = null;
    $("saved").textContent = `Saved: ${describe(message.answer)} (${message.answered} of ${message.asked}).`;
  }

  function onWaiting() {
    state.query = null;
    enableAnswers(false);
    setState("waiting");
    overlay(`All ${state.asked} answered and stored. Waiting for more clips…`);
  }

  function onError(text) {
    state.errors.push(text);
    state.sent = null;
    enableAnswers(state.query !== null);
    showError(text);
  }

  function finish(text) {
    state.query = null;
    enableAnswers(false);
    setState("closed");
    overlay(text);
  }

  // -- answering ---------------------------------------------------------------------------

  function answer(choice, key) {
    if (state.finished || !state.query) return;
    if (state.sent) return; // one answer per query: wait for the server
    state.sent = { query_id: state.query.query_id, answer: choice };
    if (!send({ type: "answer", query_id: state.query.query_id, answer: choice, key })) {
      state.sent = null;
      return;
    }
    enableAnswers(false, choice);
    if (choice === "left" || choice === "right") $(`${choice}-clip`).classList.add("chosen");
  }

  document.addEventListener("keydown", (event) => {
    if (event.repeat || event.altKey || event.ctrlKey || event.metaKey) return;
    const choice = state.keys.get(event.key);
    if (!choice) return;
    event.preventDefault();
    answer(choice, event.key);
  });
  for (const button of document.querySelectorAll("#answers button")) {
    button.addEventListener("click", () => answer(button.dataset.answer, null));
  }

  function enableAnswers(enabled, chosen = null) {
    for (const button of document.querySelectorAll("#answers button")) {
      button.disabled = !enabled;
      button.classList.toggle("pressed", button.dataset.answer === chosen);
    }
  }

  // -- display -----------------------------------------------------------------------------

  let loop = null;
  function restartLoop() {
    clearInterval(loop);
    loop = setInterval(draw, 1000 / state.fps);
  }

  function draw() {
    if (!state.query) return;
    for (const side of SIDES) {
      const clip = state.clips[side];
      if (!clip.length) continue;
      const bitmap = clip[state.frame % clip.length];
      const canvas = canvases[side];
      const context = canvas.getContext("2d");
      if (bitmap) {
        context.drawImage(bitmap, 0, 0);
      } else {
        context.fillStyle = "#888";
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.fillStyle = "#fff";
        context.font = "28px system-ui, sans-serif";
        context.fillText(`loading ${state.loaded[side]} / ${clip.length}…`, 24, 48);
      }
    }
    state.frame += 1;
  }

  function setProgress(answered, asked) {
    state.answered = answered;
    state.asked = asked;
    const bar = $("progress-bar");
    bar.max = Math.max(asked, 1);
    bar.value = answered;
    $("progress-text").textContent = `${answered} / ${asked} answered`;
    document.body.dataset.answered = String(answered);
  }

  function setState(name) {
    document.body.dataset.state = name;
    document.body.dataset.query = state.query ? state.query.query_id : "";
  }

  let errorTimer = null;
  function showError(text) {
    const box = $("error");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { box.hidden = true; }, 10000);
  }

  function overlay(text) {
    const box = $("overlay");
    box.hidden = text === null;
    if (text !== null) box.textContent = text;
  }

  const describe = (choice) => ({ left: "left is better", right: "right is better", equal: "equally good", unknown: "can't tell" })[choice] || choice;

  state.send = send; // for tests that check the server refuses bad answers
  connect();
})();

// The page of a cogym human actor: shows the trial, sends the person's actions and feedback.
// Protocol: see cogym/web/protocol.py. window.cogym.stats keeps latencies for benchmarks.
"use strict";

(() => {
  const token = document.querySelector('meta[name="cogym-token"]').content;
  const channel = document.querySelector('meta[name="cogym-channel"]').content;
  const $ = (id) => document.getElementById(id);
  const canvas = $("frame");
  const context2d = canvas.getContext("2d");

  const state = {
    hello: null,
    tick: -1,
    bindings: new Map(), // key -> binding
    held: null, // key (or button id) held down
    socket: null,
    finished: false, // the session is over, or another tab took over
    drawn: -1, // the newest tick drawn
    observed: -1, // the tick of the observation shown
    trial: null, // the id of the trial shown
    asked: false, // labelling: whether the tick shown is asked to be labelled
    stats: { frame: [], action: [], sent: [], errors: [], feedback: [], received: 0, asked: [] },
  };
  window.cogym = state;

  const wallClock = (relative) => performance.timeOrigin + relative;
  const keep = (list, value) => {
    list.push(value);
    if (list.length > 5000) list.shift();
  };

  // -- the socket --------------------------------------------------------------------------

  function connect() {
    const url = `ws://${location.host}/ws/${encodeURIComponent(channel)}?token=${encodeURIComponent(token)}`;
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    state.socket = socket;
    setConnection("connecting…", "");
    socket.onopen = () => setConnection("connected", "ok");
    socket.onmessage = (event) => {
      if (typeof event.data === "string") onText(JSON.parse(event.data));
      else onFrame(event.data);
    };
    socket.onclose = (event) => {
      releaseHeld();
      if (state.finished) return;
      const why = event.code === 1009 ? " (a message was too big)" : event.code === 1008 ? " (refused)" : "";
      setConnection(`disconnected${why}, reconnecting…`, "bad");
      setTimeout(connect, 1000);
    };
  }

  function send(message) {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      showError("not connected: the action was not sent");
      return false;
    }
    socket.send(JSON.stringify(message));
    return true;
  }

  function setConnection(text, kind) {
    const badge = $("connection");
    badge.textContent = text;
    badge.className = `badge ${kind}`;
  }

  // -- messages from the server ------------------------------------------------------------

  function onText(message) {
    switch (message.type) {
      case "hello": return onHello(message);
      case "trial": return onTrial(message);
      case "tick": return onTick(message);
      case "turn": return onTurn(message);
      case "error": return showError(message.message);
      case "reward": return onReward(message);
      case "feedback_sent": return onFeedbackSent(message);
      case "message": return log("feedback-log", `message from ${message.from}: ${JSON.stringify(message.payload)}`);
      case "replaced":
        state.finished = true;
        setConnection("opened in another tab", "bad");
        return;
      case "closed":
        state.finished = true;
        setConnection("session over", "");
        return;
      default:
        return showError(`unknown message from the server: ${message.type}`);
    }
  }

  function onHello(hello) {
    state.hello = hello;
    $("actor").textContent = hello.actor;
    document.title = `cogym · ${hello.actor}`;
    state.bindings = new Map(hello.bindings.map((b) => [b.key, b]));
    buildButtons(hello.bindings);
    $("controls").hidden = hello.action_space === null;
    $("observation-box").hidden = hello.action_space === null;
    $("teacher").hidden = !hello.teacher;
    const labelling = Boolean(hello.labelling);
    $("labelling").hidden = !labelling;
    $("labeller").hidden = !labelling;
    $("applied-title").textContent = labelling ? "last label" : "last action";
    const pacing = hello.rate ? `${hello.rate} ticks/s` : "no time limit";
    const timeout = { repeat: "your last action repeats", noop: "the no-op action applies", wait: "the trial waits for you", agent: "the agent acts", unlabelled: "the tick stays unlabelled" }[hello.on_timeout] || "";
    const labelWindow = labelling && hello.rate ? ` (a label window of ${fmt(1 / hello.rate)} s per tick)` : "";
    const start = hello.start_on_key ? " Each trial starts when you press a key." : "";
    $("pacing").textContent = `${pacing}${labelWindow}; when you do not act, ${timeout}.${start}`;
    const select = $("feedback-to");
    select.replaceChildren(...hello.feedback_to.map((name) => new Option(name, name)));
    $("feedback").hidden = hello.feedback_to.length === 0;
  }

  function buildButtons(bindings) {
    const byAction = new Map();
    for (const binding of bindings) {
      const id = JSON.stringify(binding.action);
      if (!byAction.has(id)) byAction.set(id, { binding, keys: [] });
      byAction.get(id).keys.push(binding.key);
    }
    const buttons = [];
    let index = 0;
    for (const { binding, keys } of byAction.values()) {
      const button = document.createElement("button");
      button.type = "button";
      const id = `button-${index++}`;
      button.dataset.action = JSON.stringify(binding.action);
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = binding.label;
      button.replaceChildren(name, ...keys.flatMap((key) => {
        const kbd = document.createElement("kbd");
        kbd.textContent = keyName(key);
        return [" ", kbd];
      }));
      button.title = `${binding.label}: ${keys.map(keyName).join(" or ")}`;
      button.addEventListener("pointerdown", (event) => {
        event.preventDefault();
        press(binding, id, wallClock(event.timeStamp));
      });
      for (const end of ["pointerup", "pointerleave", "pointercancel"]) {
        button.addEventListener(end, () => release(id));
      }
      buttons.push(button);
    }
    $("buttons").replaceChildren(...buttons);
  }

  const waitsForPerson = () => Boolean(state.hello && (state.hello.on_timeout === "wait" || !state.hello.rate));
  const rounded = (key, value) => (typeof value === "number" && !Number.isInteger(value) ? Number(value.toFixed(4)) : value);

  const keyName = (key) => ({ ArrowLeft: "←", ArrowRight: "→", ArrowUp: "↑", ArrowDown: "↓", " ": "space" })[key] || key;

  function onTrial(message) {
    const previous = message.previous;
    if (previous && previous.trial_id) {
      log("trials-log", `trial ${previous.trial_id}: ${previous.ticks} ticks, return ${fmt(previous.return)}`);
    }
    if (message.state === "over") {
      $("state").textContent = "session over";
      $("asked").hidden = true;
      overlay(previous ? `Session over. Last trial: ${previous.ticks} ticks, return ${fmt(previous.return)}.` : "Session over.");
      return;
    }
    state.tick = -1;
    state.drawn = -1;
    state.observed = -1;
    state.trial = message.trial_id;
    state.pressed = false;
    state.asked = false;
    $("asked").hidden = true;
    $("trial").textContent = message.trial_id;
    $("state").textContent = "starting";
    $("return").textContent = "0";
    $("feedback-received").textContent = "0";
    overlay(previous && previous.trial_id
      ? `Trial over: ${previous.ticks} ticks, return ${fmt(previous.return)}. Next trial…`
      : "Waiting for the trial to start…");
  }

  function onTick(header) {
    if (header.tick < state.tick) return;
    state.tick = header.tick;
    $("tick").textContent = header.tick;
    $("return").textContent = fmt(header.return);
    $("feedback-received").textContent = fmt(header.feedback);
    $("state").textContent = "running";
    $("turn").hidden = true;
    if (header.turn) onTurn({ tick: header.tick, ...header.turn });
    const waitsForKey = header.tick === 0 && state.hello && state.hello.start_on_key && !state.pressed;
    if (waitsForKey) overlay("Press a key or a button to start");
    else if (header.opens_in > 0.05) overlay(`Starting in ${header.opens_in.toFixed(1)} s`, header.opens_in);
    else overlay(null);
    if (header.text !== undefined) {
      $("text-frame").hidden = false;
      canvas.hidden = true;
      $("text-frame").textContent = header.text;
    }
    const applied = header.applied;
    if (applied && state.hello && state.hello.labelling) {
      const what = { human: `${JSON.stringify(applied.action)}, yours`, nobody: "none, not labelled in time" }[applied.by] || applied.by;
      $("applied").textContent = `${what}, tick ${applied.tick}`;
    } else if (applied) {
      $("applied").textContent = `${JSON.stringify(applied.action)} by ${applied.by} (tick ${applied.tick})`;
      $("control").textContent = applied.by === "human" ? "you" : applied.by;
      if (applied.lag_ms !== null && applied.lag_ms !== undefined) {
        keep(state.stats.action, applied.lag_ms);
        $("lag").textContent = `${applied.lag_ms.toFixed(0)} ms key → environment`;
      }
    }
  }

  function onFrame(buffer) {
    const view = new DataView(buffer);
    const length = view.getUint32(0);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
    onTick(header);
    const blob = new Blob([new Uint8Array(buffer, 4 + length)], { type: header.mime });
    createImageBitmap(blob).then((bitmap) => {
      if (header.tick < state.drawn) return bitmap.close();
      state.drawn = header.tick;
      if (canvas.width !== bitmap.width) canvas.width = bitmap.width;
      if (canvas.height !== bitmap.height) canvas.height = bitmap.height;
      canvas.hidden = false;
      $("text-frame").hidden = true;
      context2d.drawImage(bitmap, 0, 0);
      bitmap.close();
      keep(state.stats.frame, wallClock(performance.now()) - header.stamp);
    }, () => showError(`could not decode the frame of tick ${header.tick}`));
  }

  function onTurn(message) {
    state.observed = message.tick;
    $("turn").hidden = !waitsForPerson();
    if (message.asked !== undefined) {
      state.asked = Boolean(message.asked);
      $("asked").hidden = !state.asked;
      if (state.asked) keep(state.stats.asked, { trial: state.trial, tick: message.tick });
    }
    $("observation").textContent = typeof message.observation === "string"
      ? message.observation : JSON.stringify(message.observation, rounded);
    const mask = message.mask;
    for (const button of $("buttons").children) {
      const action = JSON.parse(button.dataset.action);
      const start = state.hello && state.hello.action_space ? state.hello.action_space.start || 0 : 0;
      button.disabled = Array.isArray(mask) && Number.isInteger(action) ? !mask[action - start] : false;
    }
  }

  function onReward(message) {
    state.stats.received += 1;
    log("feedback-log", `${message.from} rewarded you ${fmt(message.value)} (confidence ${fmt(message.confidence)}) for tick ${message.tick}`);
  }

  function onFeedbackSent(message) {
    keep(state.stats.feedback, message);
    log("feedback-log", `sent ${fmt(message.value)} (confidence ${fmt(message.confidence)}) to ${message.to} for tick ${message.tick}`);
  }

  // -- the person's input ------------------------------------------------------------------

  function press(binding, key, time) {
    if (!state.pressed && state.tick <= 0) overlay(null);
    state.pressed = true;
    const sent = send({ type: "act", action: binding.action, key, held: true, tick: Math.max(state.tick, 0), time });
    if (!sent) return;
    state.held = key;
    keep(state.stats.sent, { action: binding.action, key, tick: state.tick, time });
    for (const button of $("buttons").children) {
      button.classList.toggle("pressed", button.dataset.action === JSON.stringify(binding.action));
    }
  }

  function release(key) {
    if (state.held === null || state.held !== key) return;
    state.held = null;
    for (const button of $("buttons").children) button.classList.remove("pressed");
    send({ type: "release", key });
  }

  function releaseHeld() {
    if (state.held !== null) release(state.held);
  }

  document.addEventListener("keydown", (event) => {
    const binding = state.bindings.get(event.key) || state.bindings.get(event.code);
    if (!binding || !state.hello || state.hello.action_space === null) return;
    event.preventDefault();
    if (event.repeat) return;
    const key = state.bindings.has(event.key) ? event.key : event.code;
    press(binding, key, wallClock(event.timeStamp));
  });
  document.addEventListener("keyup", (event) => {
    release(event.key);
    release(event.code);
  });
  window.addEventListener("blur", releaseHeld);

  function sendFeedback(value) {
    const to = $("feedback-to").value;
    const confidence = Number($("confidence").value);
    send({ type: "feedback", to, value, confidence, tick: Math.max(state.tick, 0) });
  }
  $("good").addEventListener("click", () => sendFeedback(1));
  $("bad").addEventListener("click", () => sendFeedback(-1));
  $("confidence").addEventListener("input", () => {
    $("confidence-value").textContent = Number($("confidence").value).toFixed(2);
  });

  // -- display -----------------------------------------------------------------------------

  let errorTimer = null;
  function showError(text) {
    keep(state.stats.errors, text);
    const box = $("error");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  function overlay(text) {
    const box = $("overlay");
    box.hidden = text === null;
    if (text !== null) box.textContent = text;
  }

  function log(id, text) {
    const item = document.createElement("li");
    item.textContent = text;
    $(id).prepend(item);
    while ($(id).children.length > 50) $(id).lastChild.remove();
  }

  const fmt = (x) => (typeof x === "number" ? (Number.isInteger(x) ? String(x) : x.toFixed(2)) : String(x));

  window.cogym.send = send; // for tests that check the server refuses bad messages
  connect();
})();

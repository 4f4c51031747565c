// The dashboard's shared helpers: links and JSON requests that carry the page's token.
"use strict";
const cogym = (() => {
  const body = document.body;
  const token = body.dataset.token || "";
  const base = body.dataset.base || "";

  function query(params) {
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value === undefined || value === null || value === "") continue;
      if (Array.isArray(value)) value.forEach((v) => q.append(key, v));
      else q.append(key, value);
    }
    q.set("token", token);
    return q.toString();
  }

  // The URL of `path` (relative to the dashboard, e.g. "/trials") with `params` and the token.
  function href(path, params) {
    return `${base}${path}?${query(params)}`;
  }

  // GET `path` as JSON; a refusal or error answer throws an Error with the server's message.
  async function api(path, params) {
    const response = await fetch(href(path, params), { cache: "no-store" });
    const text = await response.text();
    let data = null;
    try { data = JSON.parse(text); } catch (e) { data = null; }
    if (!response.ok) {
      const message = data && data.error ? data.error : text;
      throw new Error(`${response.status}: ${message}`);
    }
    return data;
  }

  // An element `tag` with text content `text` (never parsed as HTML) and attributes `attrs`.
  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    return node;
  }

  function number(value, digits) {
    if (value === null || value === undefined) return "–";
    if (typeof value !== "number") return String(value);
    return Number.isInteger(value) ? String(value) : value.toFixed(digits === undefined ? 2 : digits);
  }

  function time(seconds) {
    if (!seconds) return "–";
    const d = new Date(seconds * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  return { token, base, href, api, el, number, time, query };
})();

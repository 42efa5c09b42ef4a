// Small DOM helpers, formatters and the WhatsApp-markup renderer shared by the views.
import { t, getLang } from "./i18n.js";

const PROPS = new Set(["value", "checked", "disabled", "hidden", "selected", "multiple", "required"]);

/** Creates an element: h("button", {class, testid, onClick, ...attrs}, ...children). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "testid") el.setAttribute("data-testid", v);
    else if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uidCounter = 0;
export function uid(prefix = "f") {
  uidCounter += 1;
  return `${prefix}-${uidCounter}`;
}

/**
 * A labelled form field: the label is tied to the control, the hint and the error message are
 * announced through aria-describedby. Returns the wrapper; `wrapper.error(msg)` shows an error.
 */
export function field(label, control, { hint, inline = false, testid } = {}) {
  if (!control.id) control.id = uid("in");
  const errId = `${control.id}-err`;
  const described = [];
  let hintEl = null;
  if (hint) {
    hintEl = h("div", { class: "hint", id: `${control.id}-hint` }, hint);
    described.push(hintEl.id);
  }
  const errEl = h("div", { class: "field-error", id: errId, "aria-live": "polite", testid: testid ? `${testid}-error` : "field-error" });
  described.push(errId);
  control.setAttribute("aria-describedby", described.join(" "));
  const labelEl = h("label", { for: control.id }, label);
  const wrapper = inline
    ? h("div", { class: "field field-inline" }, control, labelEl, hintEl, errEl)
    : h("div", { class: "field" }, labelEl, control, hintEl, errEl);
  wrapper.error = (msg) => {
    errEl.textContent = msg || "";
    if (msg) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  };
  control.fieldWrapper = wrapper;
  return wrapper;
}

/** A checkbox with its label to the right. */
export function checkbox(label, { checked = false, testid, hint, dataField } = {}) {
  const input = h("input", { type: "checkbox", checked, testid, "data-field": dataField });
  return { input, el: field(label, input, { inline: true, hint, testid }) };
}

/** Empties `el`, then appends `children` (null, undefined and false are skipped). */
export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const ICONS = {
  bell: "M12 3a6 6 0 0 0-6 6v3.6L4.3 15.4A1 1 0 0 0 5.2 17h13.6a1 1 0 0 0 .9-1.6L18 12.6V9a6 6 0 0 0-6-6zm-2.5 15a2.5 2.5 0 0 0 5 0z",
  clock: "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zm0 2a7 7 0 1 1 0 14 7 7 0 0 1 0-14zm-1 2v5.4l4 2.4.9-1.5-3-1.8V7z",
  doc: "M14 2H6c-1.1 0-2 .9-2 2v16c0 1.1.9 2 2 2h12c1.1 0 2-.9 2-2V8l-6-6zm2 16H8v-2h8v2zm0-4H8v-2h8v2zm-3-5V3.5L18.5 9H13z",
  pin: "M12 2C8.13 2 5 5.13 5 9c0 5.25 7 13 7 13s7-7.75 7-13c0-3.87-3.13-7-7-7zm0 9.5a2.5 2.5 0 0 1 0-5 2.5 2.5 0 0 1 0 5z",
  person: "M12 12c2.21 0 4-1.79 4-4s-1.79-4-4-4-4 1.79-4 4 1.79 4 4 4zm0 2c-2.67 0-8 1.34-8 4v2h16v-2c0-2.66-5.33-4-8-4z",
  audio: "M12 3v10.55A4 4 0 1 0 14 17V7h4V3h-6z",
  video: "M18 4l2 4h-3l-2-4h-2l2 4h-3l-2-4H8l2 4H7L5 4H4c-1.1 0-2 .9-2 2v12c0 1.1.9 2 2 2h16c1.1 0 2-.9 2-2V4h-4z",
  clip: "M16.5 6v11.5c0 2.21-1.79 4-4 4s-4-1.79-4-4V5c0-1.38 1.12-2.5 2.5-2.5s2.5 1.12 2.5 2.5v10.5c0 .55-.45 1-1 1s-1-.45-1-1V6H10v9.5c0 1.38 1.12 2.5 2.5 2.5s2.5-1.12 2.5-2.5V5c0-2.21-1.79-4-4-4S7 2.79 7 5v12.5c0 3.04 2.46 5.5 5.5 5.5s5.5-2.46 5.5-5.5V6h-1.5z",
};

/** A decorative inline SVG icon (no icon font, no emoji font needed). */
export function icon(name, size = 20) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", `icon icon-${name}`);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

/** A polite status line for async results ("Saved", errors). */
export function statusLine(testid) {
  return h("p", { class: "status", role: "status", "aria-live": "polite", testid });
}

export function setStatus(el, text, kind = "") {
  el.textContent = text || "";
  el.className = `status ${kind}`.trim();
}

/**
 * A modal confirmation (`<dialog>`): answers true when the confirm button is pressed, false on
 * cancel, Escape or a click outside. Test ids: TESTID, TESTID-confirm, TESTID-cancel.
 */
export function confirmDialog({ title, text, confirm, cancel, testid = "confirm-dialog", danger = true }) {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    const yes = h("button", { type: "button", class: `button ${danger ? "danger" : "primary"}`, testid: `${testid}-confirm` }, confirm);
    const no = h("button", { type: "button", class: "button primary", testid: `${testid}-cancel` }, cancel);
    const dialog = h(
      "dialog",
      { class: "dialog", testid, "aria-labelledby": titleId },
      h("h2", { id: titleId }, title),
      text ? h("p", {}, text) : null,
      h("div", { class: "form-actions dialog-actions" }, no, yes),
    );
    let answered = false;
    const done = (value) => {
      if (answered) return;
      answered = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(value);
    };
    yes.addEventListener("click", () => done(true));
    no.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", () => done(false));
    dialog.addEventListener("click", (e) => {
      if (e.target === dialog) done(false);
    });
    document.body.append(dialog);
    if (dialog.showModal) dialog.showModal();
    else dialog.setAttribute("open", "");
    no.focus();
  });
}

// ---- dates ------------------------------------------------------------------------------------

/** `2026-12-31` → `31.12.2026` (Russian UI) or unchanged (English UI: ISO is unambiguous). */
export function fmtIsoDate(iso) {
  const m = String(iso || "").match(/^(\d{4})-(\d{2})-(\d{2})$/);
  if (!m) return String(iso || "");
  return getLang() === "en" ? iso : `${m[3]}.${m[2]}.${m[1]}`;
}

/**
 * A typed date as ISO `YYYY-MM-DD`, or null: accepts ДД.ММ.ГГГГ (also with / or -, one-digit
 * day and month) and YYYY-MM-DD; the date must exist (no 31.02).
 */
export function parseDate(text) {
  const s = String(text || "").trim();
  let y;
  let mo;
  let d;
  let m = s.match(/^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$/);
  if (m) [d, mo, y] = [m[1], m[2], m[3]].map(Number);
  else if ((m = s.match(/^(\d{4})-(\d{1,2})-(\d{1,2})$/))) [y, mo, d] = [m[1], m[2], m[3]].map(Number);
  else return null;
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return `${String(y).padStart(4, "0")}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

// ---- formatting -------------------------------------------------------------------------------

function locale() {
  return getLang() === "en" ? "en-GB" : "ru-RU";
}

export function parseTime(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtTime(iso) {
  const d = parseTime(iso);
  if (!d) return "";
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  const opts = sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

/** A time as the server's clock sees it: «14:05» today (by the server's now), else «26.11, 14:05». */
export function fmtClock(iso) {
  const d = parseTime(iso);
  if (!d) return "";
  const sameDay = d.toDateString() === new Date(serverNow()).toDateString();
  const opts = sameDay ? { hour: "2-digit", minute: "2-digit" } : { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

export function fmtDateTime(iso) {
  const d = parseTime(iso);
  if (!d) return "";
  return new Intl.DateTimeFormat(locale(), {
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(d);
}

/** 0:05, 12:34, 1:02:03, "2 д 03:04:05". */
export function fmtDuration(ms) {
  let s = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const p2 = (n) => String(n).padStart(2, "0");
  const clock = hh > 0 || days > 0 ? `${days > 0 ? p2(hh) : hh}:${p2(mm)}:${p2(ss)}` : `${mm}:${p2(ss)}`;
  return days > 0 ? `${t("time.days_short", { n: days })} ${clock}` : clock;
}

/** Seconds as a short human text: "5 мин", "1 ч 30 мин". */
export function fmtSeconds(sec) {
  if (sec < 60) return t("time.seconds_short", { n: Math.max(0, Math.round(sec)) });
  const m = Math.floor(sec / 60);
  if (m < 60) return t("time.minutes_short", { n: m });
  const hrs = Math.floor(m / 60);
  const rest = m % 60;
  return rest ? `${t("time.hours_short", { n: hrs })} ${t("time.minutes_short", { n: rest })}` : t("time.hours_short", { n: hrs });
}

// ---- live timers ------------------------------------------------------------------------------

// The server's clock may differ from the browser's (a manual clock in a sandbox, or a skewed
// laptop): every API response carries `x-replyline-now`, and timers count from that.
let clockOffsetMs = 0;

/** Records the server's now (RFC 3339) as seen in a response. */
export function setServerNow(iso) {
  const ms = iso ? Date.parse(iso) : NaN;
  if (Number.isFinite(ms)) clockOffsetMs = ms - Date.now();
}

/** Now on the server's clock, in epoch milliseconds. */
export function serverNow() {
  return Date.now() + clockOffsetMs;
}

/** Every element with data-since="ISO" shows the time elapsed since then, updated each second. */
export function tickTimers(root = document) {
  const now = serverNow();
  for (const el of root.querySelectorAll("[data-since]")) {
    const d = parseTime(el.getAttribute("data-since"));
    if (d) el.textContent = fmtDuration(now - d.getTime());
  }
}

let ticker = 0;
export function startTicker() {
  if (!ticker) ticker = setInterval(() => tickTimers(), 1000);
}

// ---- WhatsApp markup --------------------------------------------------------------------------

const MARKUP = /```([\s\S]+?)```|\*([^*\n]+)\*|_([^_\n]+)_|~([^~\n]+)~/g;

/** Renders WhatsApp markup (*bold*, _italic_, ~strike~, ```mono```) safely into DOM nodes. */
export function waMarkup(text) {
  const frag = document.createDocumentFragment();
  const s = String(text ?? "");
  let last = 0;
  for (const m of s.matchAll(MARKUP)) {
    if (m.index > last) frag.append(s.slice(last, m.index));
    if (m[1] !== undefined) frag.append(h("code", {}, m[1]));
    else if (m[2] !== undefined) frag.append(h("strong", {}, m[2]));
    else if (m[3] !== undefined) frag.append(h("em", {}, m[3]));
    else frag.append(h("s", {}, m[4]));
    last = m.index + m[0].length;
  }
  if (last < s.length) frag.append(s.slice(last));
  return frag;
}

// ---- errors ---------------------------------------------------------------------------------

// Server errors are translated by errors.js (codes, fields and known messages in RU/EN).
export { errorText, fieldErrorText, knownServerText, fieldLabel } from "./errors.js";

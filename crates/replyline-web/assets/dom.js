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

// ---- errors -----------------------------------------------------------------------------------

/** Server validation messages (English) and the dictionary entry that says the same. */
const SERVER_MESSAGES = [
  [/^unknown variable \{([^}]*)\}/, (m) => ["server.unknown_variable", { name: `{${m[1]}}` }]],
  [/^unclosed \{/, () => ["template.error.unclosed", {}]],
  [/^must be 1 to (\d+) characters/, (m) => ["server.length", { max: m[1] }]],
  [/^must be from 1 second to 7 days/, () => ["delay.error.range", {}]],
  [/^(?:no employee with id|no such (?:active )?employee|unknown employee)\s*"?([^"]*)"?/, (m) => (m[1] ? ["server.no_employee_id", { id: m[1] }] : ["server.no_employee", {}])],
  [/^(?:no such channel|unknown channel|no channel with id)\s*"?([^"]*)"?/, (m) => (m[1] ? ["server.no_channel_id", { id: m[1] }] : ["server.no_channel", {}])],
  [/^(?:no such group|unknown group|no group with id)\s*"?([^"]*)"?/, (m) => (m[1] ? ["server.no_group_id", { id: m[1] }] : ["server.no_group", {}])],
  [/^must contain \{text\}/, () => ["server.needs_text", {}]],
  [/^unknown IANA time zone "?([^"]*)"?/, (m) => ["server.timezone", { name: m[1] }]],
  [/^expected a date YYYY-MM-DD/, () => ["server.date", {}]],
  [/^expected HH:MM-HH:MM/, () => ["server.hours_range", {}]],
  [/overlaps another range/, () => ["server.hours_overlap", {}]],
  [/^must be an e-mail address/, () => ["server.email", {}]],
  [/^must be a language code/, () => ["server.language", {}]],
  [/^must be an http\(s\) URL/, () => ["server.url", {}]],
  [/^must not be empty|^is required|^required/, () => ["common.required", {}]],
  [/exactly one (?:of|target)/, () => ["server.one_target", {}]],
  [/^at most (\d+) rules/, (m) => ["server.max_rules", { n: m[1] }]],
  [/^each keyword must be at most (\d+) characters/, (m) => ["server.keyword_length", { max: m[1] }]],
  [/^name 1 to (\d+) keywords/, (m) => ["server.keywords_count", { max: m[1] }]],
  [/^a group named "?(.*?)"? already exists/, (m) => ["server.group_exists", { name: m[1] }]],
  [/^routing rule (\d+) sends chats to this group/, (m) => ["groups.error.in_use_n", { n: m[1] }]],
  [/routing rule/, () => ["groups.error.in_use", {}]],
];

/** Field-based texts for messages the table above does not know (last segment of the path). */
const FIELD_FALLBACK = {
  keywords: "server.keywords",
  employee_id: "server.one_target",
  group_id: "server.one_target",
  channel_id: "server.no_channel",
  employee_ids: "server.no_employee",
  manager_ids: "server.no_employee",
  supervisors: "server.no_employee",
  name: "server.name",
};

/** The server's message without its "field: " prefix. */
function bareMessage(err) {
  const msg = String((err && err.message) || "");
  if (err && err.field && msg.startsWith(`${err.field}: `)) return msg.slice(err.field.length + 2);
  return msg;
}

/** A translation of a known server message, or "". */
function knownMessage(msg) {
  for (const [re, make] of SERVER_MESSAGES) {
    const m = msg.match(re);
    if (m) {
      const [key, params] = make(m);
      return t(key, params);
    }
  }
  return "";
}

/** The translation of a known server message of `err`, or "" when the message is not known. */
export function knownServerText(err) {
  return knownMessage(bareMessage(err));
}

/**
 * The text for an error shown at its field, in the current language: a known server message
 * translated; else (English UI) the server's own words; else a sentence chosen by the field.
 */
export function fieldErrorText(err) {
  const msg = bareMessage(err);
  const known = knownMessage(msg);
  if (known) return known;
  if (getLang() === "en" && msg) return msg;
  const last = String((err && err.field) || "")
    .replace(/\[\d+\]/g, "")
    .split(".")
    .filter(Boolean)
    .pop();
  if (last && FIELD_FALLBACK[last]) return t(FIELD_FALLBACK[last]);
  return t("error.invalid_value");
}

/** An error message for an ApiError, in the current language. */
export function errorText(err) {
  if (!err) return "";
  if (err.status === 0) return t("error.network");
  if (err.code === "outside_24h_window") return t("chat.error_24h");
  if (err.status === 401) return t("error.unauthorized");
  if (err.status === 403) return t("error.forbidden");
  if (err.status === 404) return t("error.not_found");
  if (err.status === 429) return t("error.rate_limited");
  if (err.status === 413) return t("error.too_large");
  const msg = bareMessage(err);
  const known = knownMessage(msg);
  if (known) return err.field ? `${known} (${err.field})` : known;
  if (getLang() === "en" && err.message) return err.message;
  if (err.status === 409) return t("error.conflict");
  if (err.status === 422 || err.code === "validation_failed") {
    if (!err.field) return t("error.invalid_value");
    const text = fieldErrorText(err);
    return text === t("error.invalid_value") ? t("error.invalid_field", { field: err.field }) : `${text} (${err.field})`;
  }
  if (err.status === 400) return t("error.bad_request");
  return t("error.generic");
}

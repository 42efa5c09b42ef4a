// Form widgets shared by the admin pages: the delay picker, the person picker, the chip input,
// and the template parser behind the live previews (the same rules as the server's engine).
import { t, plural } from "./i18n.js";
import { h, clear, field, uid } from "./dom.js";

// ---- templates -------------------------------------------------------------------------------

/** Variables of client-facing texts (greeting, no-reply, closing, out-of-hours). */
export const TEXT_VARS = ["client_name", "employee_name", "company_name"];
/** Variables of a manager notification text («Текст уведомления»). */
export const NOTIFY_VARS = ["client_name", "employee_name", "company_name", "waited_minutes"];

/**
 * Parses `{name}` / `{name|fallback}` with `{{` and `}}` as literal braces, as the engine does.
 * Answers `{segments}` or `{error: {kind: "unclosed"|"unknown", name?, at?}}`. With `allowed`
 * null any variable name is accepted.
 */
export function parseTemplate(source, allowed = null) {
  const s = String(source ?? "");
  const segments = [];
  let literal = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c !== "{" && c !== "}") {
      literal += c;
      i += 1;
      continue;
    }
    if (s[i + 1] === c) {
      literal += c;
      i += 2;
      continue;
    }
    if (c === "}") {
      literal += "}";
      i += 1;
      continue;
    }
    const end = s.indexOf("}", i + 1);
    if (end < 0) return { error: { kind: "unclosed", at: i } };
    const inner = s.slice(i + 1, end);
    const bar = inner.indexOf("|");
    const name = (bar < 0 ? inner : inner.slice(0, bar)).trim();
    const fallback = bar < 0 ? undefined : inner.slice(bar + 1);
    if (allowed && !allowed.includes(name)) return { error: { kind: "unknown", name } };
    if (literal) segments.push({ literal });
    literal = "";
    segments.push({ name, fallback });
    i = end + 1;
  }
  if (literal) segments.push({ literal });
  return { segments };
}

/** Renders a text with template variables the way its reader would see it. */
export function renderTemplate(text, vars, allowed = null) {
  const parsed = parseTemplate(text, allowed);
  if (parsed.error) return String(text ?? "");
  return parsed.segments
    .map((seg) => {
      if (seg.literal !== undefined) return seg.literal;
      const v = vars[seg.name];
      if (v !== undefined && v !== null && v !== "") return String(v);
      return seg.fallback !== undefined ? seg.fallback : "";
    })
    .join("");
}

/** The error of a text in the current language, or "" when it is fine. */
export function templateError(text, allowed) {
  const value = String(text ?? "");
  if (!value.trim().length) return t("settings.error.text_required");
  if ([...value].length > 4096) return t("settings.error.text_too_long");
  const parsed = parseTemplate(value, allowed);
  if (!parsed.error) return "";
  if (parsed.error.kind === "unclosed") return t("template.error.unclosed");
  return t("template.error.unknown", { name: `{${parsed.error.name}}`, allowed: allowed.map((v) => `{${v}}`).join(", ") });
}

// ---- delays ----------------------------------------------------------------------------------

/** The common delays of the select, in seconds: 1, 2, 3, 5, 10, 15, 30 min, 1 h, 2 h, 1 day. */
export const DELAY_PRESETS = [60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 86400];
export const MAX_DELAY_SECONDS = 7 * 86400;
const UNITS = [
  ["seconds", 1],
  ["minutes", 60],
  ["hours", 3600],
  ["days", 86400],
];
const UNIT_KEY = { seconds: "unit.second", minutes: "unit.minute", hours: "unit.hour", days: "unit.day" };

/** The largest unit that expresses `sec` as a whole number: 20 → 20 seconds, 7200 → 2 hours. */
export function bestUnit(sec) {
  const s = Math.max(0, Math.round(Number(sec) || 0));
  for (const [unit, size] of [...UNITS].reverse()) {
    if (s > 0 && s % size === 0) return { unit, n: s / size };
  }
  return { unit: "seconds", n: s };
}

/** "20 секунд", "5 минут", "1 час", "1 день": always a whole number of one unit. */
export function fmtDelay(sec) {
  const { unit, n } = bestUnit(sec);
  return `${n} ${plural(UNIT_KEY[unit], n)}`;
}

/**
 * A delay field: a select of DELAY_PRESETS and «Другое…», which reveals a whole number and a
 * unit. With `optional` the first option is "off" (null). `get()` answers {value: seconds|null,
 * error?}; `set(seconds)` shows a stored value (one that is not a preset shows as "other" in
 * its best whole unit). `select` carries the testid; the number and unit `TESTID-value` and
 * `TESTID-unit`.
 */
export function delayField(label, testid, { optional = false, hint, offLabel } = {}) {
  const select = h("select", { testid, class: "short delay-select" });
  if (optional) select.append(h("option", { value: "" }, offLabel || t("delay.off")));
  for (const sec of DELAY_PRESETS) select.append(h("option", { value: String(sec) }, fmtDelay(sec)));
  select.append(h("option", { value: "other" }, t("delay.other")));
  const number = h("input", { type: "number", min: 1, step: 1, inputmode: "numeric", class: "tiny", testid: `${testid}-value`, "aria-label": t("delay.amount", { field: label }) });
  const unit = h(
    "select",
    { testid: `${testid}-unit`, class: "delay-unit", "aria-label": t("delay.unit", { field: label }) },
    UNITS.map(([u]) => h("option", { value: u }, t(`delay.unit.${u}`))),
  );
  const other = h("span", { class: "delay-other", testid: `${testid}-other`, hidden: true }, number, unit);
  const el = field(label, select, { hint, testid });
  el.classList.add("delay-field");
  select.after(other);
  let last = null; // the last seconds shown, to prefill "other"

  function showOther(on) {
    other.hidden = !on;
  }
  select.addEventListener("change", () => {
    if (select.value === "other") {
      const { unit: u, n } = bestUnit(last || 300);
      number.value = String(n);
      unit.value = u;
      showOther(true);
      number.focus();
    } else {
      showOther(false);
      if (select.value) last = Number(select.value);
    }
  });

  function get() {
    const v = select.value;
    if (v === "") return optional ? { value: null } : { value: null, error: t("delay.error.required") };
    if (v !== "other") return { value: Number(v) };
    const raw = number.value.trim();
    const n = Number(raw);
    if (raw === "" || !Number.isInteger(n) || n < 1) return { value: null, error: t("delay.error.whole") };
    const size = UNITS.find(([u]) => u === unit.value)[1];
    const sec = n * size;
    if (sec > MAX_DELAY_SECONDS) return { value: null, error: t("delay.error.range") };
    return { value: sec };
  }

  function set(sec) {
    if (sec === null || sec === undefined) {
      select.value = optional ? "" : String(DELAY_PRESETS[0]);
      showOther(false);
      return;
    }
    const s = Math.round(Number(sec));
    last = s;
    if (DELAY_PRESETS.includes(s)) {
      select.value = String(s);
      showOther(false);
    } else {
      const b = bestUnit(s);
      select.value = "other";
      number.value = String(b.n);
      unit.value = b.unit;
      showOther(true);
    }
  }

  return { el, select, number, unit, get, set };
}

// ---- people ----------------------------------------------------------------------------------

/**
 * Several people chosen from a searchable list: chips with remove buttons, then «Добавить»
 * opens a search box over `people` (those not chosen yet). `ids` are strings, kept in the order
 * chosen. Test ids: TESTID (the group), TESTID-chip (data-employee-id), TESTID-remove,
 * TESTID-empty, TESTID-add, TESTID-search, TESTID-option (data-employee-id).
 */
export function personPicker({ label, testid, emptyText, hint, addLabel, nameOf, describe, onChange }) {
  let people = [];
  let chosen = [];
  const labelId = uid("pp");
  const errEl = h("div", { class: "field-error", id: `${labelId}-err`, "aria-live": "polite", testid: `${testid}-error` });
  const hintEl = hint ? h("div", { class: "hint", id: `${labelId}-hint` }, hint) : null;
  const chips = h("ul", { class: "person-chips", testid: `${testid}-chips`, "aria-label": label });
  const empty = h("p", { class: "person-empty muted", testid: `${testid}-empty` }, emptyText);
  const search = h("input", { type: "search", testid: `${testid}-search`, autocomplete: "off", class: "short", placeholder: t("picker.search_placeholder"), "aria-label": t("picker.search", { field: label }) });
  const options = h("ul", { class: "person-options", testid: `${testid}-options` });
  const panel = h("div", { class: "person-panel", hidden: true, id: uid("ppanel") }, search, options);
  const add = h(
    "button",
    { type: "button", class: "button small", testid: `${testid}-add`, "aria-expanded": "false", "aria-controls": panel.id },
    addLabel || t("picker.add"),
  );
  const group = h(
    "div",
    { class: "field person-picker", role: "group", "aria-labelledby": labelId, "aria-describedby": [hintEl && hintEl.id, errEl.id].filter(Boolean).join(" "), testid },
    h("div", { class: "picker-label", id: labelId }, label),
    chips,
    empty,
    h("div", { class: "person-actions" }, add),
    panel,
    hintEl,
    errEl,
  );
  group.error = (msg) => {
    errEl.textContent = msg || "";
    if (msg) group.setAttribute("aria-invalid", "true");
    else group.removeAttribute("aria-invalid");
  };
  group.fieldWrapper = group;

  function personById(id) {
    return people.find((p) => String(p.id) === String(id));
  }

  function renderChips() {
    clear(chips);
    for (const id of chosen) {
      const p = personById(id);
      const name = p ? nameOf(p) : String(id);
      chips.append(
        h(
          "li",
          { class: "person-chip", testid: `${testid}-chip`, "data-employee-id": String(id) },
          h("span", {}, name),
          h(
            "button",
            {
              type: "button",
              class: "chip-remove",
              testid: `${testid}-remove`,
              "aria-label": t("picker.remove", { name }),
              title: t("picker.remove", { name }),
              onClick: () => {
                chosen = chosen.filter((x) => x !== String(id));
                changed();
                add.focus();
              },
            },
            "×",
          ),
        ),
      );
    }
    empty.hidden = chosen.length > 0;
  }

  function renderOptions() {
    clear(options);
    const q = search.value.trim().toLocaleLowerCase();
    const matches = people.filter((p) => !chosen.includes(String(p.id)) && (!q || `${nameOf(p)} ${p.email || ""}`.toLocaleLowerCase().includes(q)));
    for (const p of matches.slice(0, 50)) {
      options.append(
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "person-option",
              testid: `${testid}-option`,
              "data-employee-id": String(p.id),
              onClick: () => {
                chosen = [...chosen, String(p.id)];
                changed();
                search.focus();
              },
            },
            nameOf(p),
            describe ? h("span", { class: "muted" }, ` · ${describe(p)}`) : null,
          ),
        ),
      );
    }
    if (!matches.length) options.append(h("li", { class: "muted small", testid: `${testid}-no-match` }, t("picker.nobody")));
  }

  function changed() {
    renderChips();
    renderOptions();
    group.dispatchEvent(new Event("change", { bubbles: true }));
    if (onChange) onChange(chosen);
  }

  function open(on) {
    panel.hidden = !on;
    add.setAttribute("aria-expanded", String(on));
    add.textContent = on ? t("picker.done") : addLabel || t("picker.add");
    if (on) {
      renderOptions();
      search.focus();
    }
  }
  add.addEventListener("click", () => open(panel.hidden));
  search.addEventListener("input", (e) => {
    e.stopPropagation();
    renderOptions();
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      open(false);
      add.focus();
    } else if (e.key === "Enter") {
      e.preventDefault();
      const first = options.querySelector("button");
      if (first) first.click();
    }
  });

  return {
    el: group,
    get: () => ({ value: [...chosen] }),
    set(ids) {
      chosen = [];
      for (const id of ids || []) if (!chosen.includes(String(id))) chosen.push(String(id));
      renderChips();
      if (!panel.hidden) renderOptions();
    },
    setPeople(list) {
      people = list;
      renderChips();
      if (!panel.hidden) renderOptions();
    },
  };
}

// ---- keywords --------------------------------------------------------------------------------

/** Splits typed text on commas and new lines into trimmed, non-empty words or phrases. */
export function splitKeywords(text) {
  return String(text ?? "")
    .split(/[,\n;]/)
    .map((s) => s.trim().replace(/\s+/g, " "))
    .filter(Boolean);
}

/**
 * Keywords as chips: type and press Enter or a comma; Backspace in the empty box removes the
 * last one. `get()` includes what is still typed. Test ids: TESTID (the box), TESTID-input,
 * TESTID-chip, TESTID-remove.
 */
export function chipInput({ label, testid, values = [], onChange, placeholder }) {
  let items = [...values];
  const input = h("input", { type: "text", testid: `${testid}-input`, autocomplete: "off", placeholder, "aria-label": label, class: "chip-text" });
  const list = h("ul", { class: "kw-chips" });
  const box = h("div", { class: "chip-input", testid, onClick: (e) => e.target === box && input.focus() }, list, input);

  function render() {
    clear(list);
    items.forEach((kw, i) => {
      list.append(
        h(
          "li",
          { class: "kw-chip", testid: `${testid}-chip` },
          h("span", {}, kw),
          h(
            "button",
            {
              type: "button",
              class: "chip-remove",
              testid: `${testid}-remove`,
              "aria-label": t("picker.remove", { name: kw }),
              title: t("picker.remove", { name: kw }),
              onClick: () => {
                items.splice(i, 1);
                render();
                changed();
                input.focus();
              },
            },
            "×",
          ),
        ),
      );
    });
  }

  function changed() {
    if (onChange) onChange(value());
  }

  function commit() {
    const words = splitKeywords(input.value);
    if (!words.length) return false;
    for (const w of words) if (!items.some((x) => x.toLocaleLowerCase() === w.toLocaleLowerCase())) items.push(w);
    input.value = "";
    render();
    return true;
  }

  function value() {
    const out = [...items];
    for (const w of splitKeywords(input.value)) if (!out.some((x) => x.toLocaleLowerCase() === w.toLocaleLowerCase())) out.push(w);
    return out;
  }

  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === ",") {
      e.preventDefault();
      if (commit()) changed();
    } else if (e.key === "Backspace" && !input.value && items.length) {
      items.pop();
      render();
      changed();
    }
  });
  input.addEventListener("input", () => {
    if (input.value.includes(",")) commit();
    changed();
  });
  input.addEventListener("blur", () => {
    if (commit()) changed();
  });
  render();
  return { el: box, input, value };
}

// ---- suggestions popup (quick replies after "/", people after "@") -------------------------

/**
 * A suggestion list under a text box, opened by a trigger character before the caret ("/" for
 * quick replies, "@" for mentions). `trigger` is the character; `items(query)` answers
 * `[{key, label, detail?}]` (sync or async); `onPick(item, {start, end})` receives the chosen
 * item and the range of the typed token (trigger included) to replace. ↑/↓ move, Enter or Tab
 * picks, Escape closes, a click picks. The list is a listbox tied to the input by
 * aria-controls / aria-activedescendant. Test ids: TESTID (the list), TESTID-item.
 */
export function suggestPopup({ input, trigger, testid, items, onPick, emptyText }) {
  const listId = uid("sugg");
  const box = h("ul", { class: "suggest", role: "listbox", id: listId, testid, hidden: true });
  let shown = [];
  let active = 0;
  let range = null;
  let seq = 0;
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", listId);

  /** The token being typed: the trigger at a word start up to the caret. */
  function token() {
    const caret = input.selectionStart ?? input.value.length;
    const before = input.value.slice(0, caret);
    const at = before.lastIndexOf(trigger);
    if (at < 0) return null;
    if (at > 0 && !/\s/.test(before[at - 1])) return null;
    const query = before.slice(at + 1);
    if (/\n/.test(query) || query.length > 40) return null;
    if (trigger === "/" && /\s\s/.test(query)) return null;
    return { start: at, end: caret, query };
  }

  function close() {
    box.hidden = true;
    shown = [];
    range = null;
    input.removeAttribute("aria-activedescendant");
    input.setAttribute("aria-expanded", "false");
  }

  function highlight() {
    [...box.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === active)));
    const li = box.children[active];
    if (li && li.id) {
      input.setAttribute("aria-activedescendant", li.id);
      li.scrollIntoView({ block: "nearest" });
    }
  }

  function pick(i) {
    const item = shown[i];
    const r = range;
    close();
    if (item && r) onPick(item, r);
  }

  async function update() {
    const tok = token();
    if (!tok) return close();
    const my = ++seq;
    const found = await items(tok.query);
    if (my !== seq) return;
    range = tok;
    shown = found.slice(0, 8);
    active = 0;
    clear(box);
    if (!shown.length) {
      box.append(h("li", { class: "suggest-empty muted", testid: `${testid}-empty` }, emptyText || t("picker.nobody")));
    }
    shown.forEach((item, i) => {
      box.append(
        h(
          "li",
          {
            id: `${listId}-${i}`,
            role: "option",
            class: "suggest-item",
            testid: `${testid}-item`,
            "data-key": String(item.key),
            onMousedown: (e) => e.preventDefault(),
            onClick: () => pick(i),
          },
          h("span", { class: "suggest-label" }, item.label),
          item.detail ? h("span", { class: "suggest-detail muted" }, item.detail) : null,
        ),
      );
    });
    box.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight();
  }

  input.addEventListener("input", update);
  input.addEventListener("click", update);
  input.addEventListener("blur", () => setTimeout(close, 150));
  // Registered before the composer's Enter-to-send handler (capture), so Enter picks instead.
  input.addEventListener(
    "keydown",
    (e) => {
      if (box.hidden || !shown.length) {
        if (e.key === "Escape" && !box.hidden) close();
        return;
      }
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        e.stopImmediatePropagation();
        active = (active + (e.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
        highlight();
      } else if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        e.stopImmediatePropagation();
        pick(active);
      } else if (e.key === "Escape") {
        e.preventDefault();
        e.stopImmediatePropagation();
        close();
      }
    },
    true,
  );
  return { el: box, close, isOpen: () => !box.hidden };
}

/** Replaces `start..end` of the input's value with `text` and puts the caret after it. */
export function replaceRange(input, start, end, text) {
  input.value = input.value.slice(0, start) + text + input.value.slice(end);
  const caret = start + text.length;
  input.setSelectionRange(caret, caret);
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.focus();
}

// ---- dialogs ---------------------------------------------------------------------------------

/**
 * A modal `<dialog>` (not window.confirm, so tests and screen readers can use it): a title,
 * `body` nodes and buttons. Answers {el, open(), close()}; the element is appended to the
 * document body on open and removed on close. `testid` names the dialog.
 */
export function modal({ title, body = [], testid, onClose }) {
  const titleId = uid("dlg");
  const el = h("dialog", { class: "dialog", testid, "aria-labelledby": titleId }, h("h2", { id: titleId }, title), body);
  el.addEventListener("close", () => {
    el.remove();
    if (onClose) onClose();
  });
  return {
    el,
    open() {
      document.body.append(el);
      el.showModal();
    },
    close() {
      if (el.open) el.close();
    },
  };
}

/**
 * Asks to confirm an action in a modal dialog; answers a promise of true (confirmed) or false.
 * Test ids: TESTID (the dialog), TESTID-yes, TESTID-no.
 */
export function confirmDialog({ title, text, yes, no, testid, danger = false }) {
  return new Promise((resolve) => {
    let answer = false;
    const yesBtn = h("button", { type: "button", class: `button ${danger ? "danger" : "primary"}`, testid: `${testid}-yes` }, yes);
    const noBtn = h("button", { type: "button", class: "button", testid: `${testid}-no` }, no || t("common.cancel"));
    const dlg = modal({
      title,
      testid,
      body: [text ? h("p", {}, text) : null, h("div", { class: "form-actions dialog-actions" }, yesBtn, noBtn)],
      onClose: () => resolve(answer),
    });
    yesBtn.addEventListener("click", () => {
      answer = true;
      dlg.close();
    });
    noBtn.addEventListener("click", () => dlg.close());
    dlg.open();
    noBtn.focus();
  });
}

/** `text` with every occurrence of the query's words wrapped in <mark> (case-insensitive). */
export function highlightWords(text, query) {
  const frag = document.createDocumentFragment();
  const s = String(text ?? "");
  const words = String(query ?? "")
    .split(/\s+/)
    .map((w) => w.trim())
    .filter((w) => w.length > 0)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  if (!words.length) {
    frag.append(s);
    return frag;
  }
  // «ё» = «е», as the search does.
  const pattern = words.map((w) => w.replace(/[её]/gi, "[её]")).join("|");
  const re = new RegExp(pattern, "giu");
  let last = 0;
  for (const m of s.matchAll(re)) {
    if (!m[0]) continue;
    if (m.index > last) frag.append(s.slice(last, m.index));
    frag.append(h("mark", { testid: "search-mark" }, m[0]));
    last = m.index + m[0].length;
  }
  if (last < s.length) frag.append(s.slice(last));
  return frag;
}

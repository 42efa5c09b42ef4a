// First-run guidance: on an empty install (no channel yet, or nobody but the admin) an admin sees
// a checklist above every page — connect WhatsApp → add employees and the queue → messenger
// settings → try the demo — each step linked and ticked when done. «Скрыть» hides it for this
// browser.
import { t } from "../i18n.js";
import { h } from "../dom.js";

const HIDDEN_KEY = "replyline.firstrun.hidden";
const SETTINGS_KEY = "replyline.firstrun.settings_seen";

function remembered(key) {
  try {
    return localStorage.getItem(key) === "1";
  } catch {
    return false;
  }
}

function remember(key) {
  try {
    localStorage.setItem(key, "1");
  } catch {
    /* private mode: shown again next time */
  }
}

/** The checklist steps for `dir` (the app's directory) as seen by `me`. */
export function steps(dir, me) {
  const others = dir.employees.filter((e) => String(e.id) !== String(me.id) && e.active !== false);
  const queued = others.some((e) => Array.isArray(e.channel_ids) && e.channel_ids.length > 0);
  return [
    { step: "whatsapp", href: "#/admin/channels", done: dir.channels.length > 0 },
    { step: "employees", href: "#/admin/employees", done: others.length > 0 && queued },
    { step: "settings", href: "#/calls/messenger", done: remembered(SETTINGS_KEY) },
    { step: "demo", href: null, done: false },
  ];
}

/** Is this install still empty enough to guide: no channel, or nobody besides the admin? */
export function needsGuidance(dir, me) {
  const others = dir.employees.filter((e) => String(e.id) !== String(me.id));
  return dir.channels.length === 0 || others.length === 0;
}

/** `text` with the \u0000 placeholder replaced by `<code>code</code>`. */
function withCode(text, code) {
  const [before, after = ""] = text.split("\u0000");
  return [before, h("code", {}, code), after];
}

function banner(list, onHide) {
  const done = list.filter((s) => s.done).length;
  const hide = h("button", { type: "button", class: "button ghost small", testid: "firstrun-hide", onClick: onHide }, t("firstrun.hide"));
  return h(
    "aside",
    { class: "card firstrun", testid: "firstrun", "aria-labelledby": "firstrun-title" },
    h("div", { class: "firstrun-head" }, h("h2", { id: "firstrun-title" }, t("firstrun.title")), h("span", { class: "muted small", testid: "firstrun-progress" }, t("firstrun.progress", { done, total: list.length })), hide),
    h("p", { class: "muted" }, t("firstrun.hint")),
    h(
      "ol",
      { class: "firstrun-steps" },
      list.map((s) =>
        h(
          "li",
          { class: s.done ? "done" : "", testid: `firstrun-step-${s.step}`, "data-done": String(s.done) },
          s.href ? h("a", { href: s.href }, t(`firstrun.${s.step}`)) : h("span", {}, ...withCode(t(`firstrun.${s.step}`, { cmd: "\u0000" }), "replyline demo")),
          s.done ? h("span", { class: "status-pill open" }, t("firstrun.done")) : null,
        ),
      ),
    ),
  );
}

/**
 * Puts the checklist above `viewEl` inside `main` for admins of an empty install (async: after
 * the directory answers; nothing if the page changed meanwhile).
 */
export async function mountAbove(ctx, main, viewEl) {
  const me = ctx.me;
  delete main.dataset.firstrun;
  // main[data-firstrun] tells what was decided (tests wait for it): hidden, not-needed, shown
  if (!me || me.role !== "admin" || remembered(HIDDEN_KEY)) {
    main.dataset.firstrun = "hidden";
    return;
  }
  if (/^#\/calls\/messenger\/[^/]+$/.test(location.hash) && !/routing|groups/.test(location.hash)) remember(SETTINGS_KEY);
  let dir;
  try {
    dir = await ctx.directory();
  } catch {
    return;
  }
  if (!viewEl.isConnected || viewEl.parentElement !== main) return;
  if (!needsGuidance(dir, me)) {
    main.dataset.firstrun = "not-needed";
    return;
  }
  for (const old of main.querySelectorAll('[data-testid="firstrun"]')) old.remove();
  const el = banner(steps(dir, me), () => {
    remember(HIDDEN_KEY);
    el.remove();
  });
  main.insertBefore(el, viewEl);
  main.dataset.firstrun = "shown";
}

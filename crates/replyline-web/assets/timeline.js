// Rule decisions of a conversation's timeline as readable sentences in the current language.
import { t, has } from "./i18n.js";

/** Reasons that only restate the rule; they are not shown next to a fired decision. */
const TRIVIAL_FIRED = new Set(["wait_unanswered", "conversation_opened", "first_message", "next_message"]);

export function reasonText(reason) {
  if (!reason) return "";
  const key = `reason.${reason}`;
  return has(key) ? t(key) : String(reason).replace(/_/g, " ");
}

function nameOf(x, dir, employeeName) {
  if (x === null || x === undefined) return "";
  if (typeof x === "object") return employeeName(x) || x.id || "";
  const e = dir && dir.empById ? dir.empById.get(String(x)) : null;
  return e ? employeeName(e) : String(x);
}

/** The people a notification went to, from whichever field the server names them in. */
export function recipients(ev, dir, employeeName) {
  const raw =
    ev.manager_names ||
    ev.managers ||
    ev.manager_ids ||
    ev.recipients ||
    (ev.manager ? [ev.manager] : null) ||
    (ev.manager_id ? [ev.manager_id] : null) ||
    (ev.data && (ev.data.managers || ev.data.manager_ids)) ||
    [];
  return (Array.isArray(raw) ? raw : [raw]).map((x) => nameOf(x, dir, employeeName)).filter(Boolean);
}

/** {text, detail} for one timeline item. */
export function describe(ev, dir, employeeName) {
  if (ev.rule) {
    const outcome = ev.outcome === "suppressed" ? "suppressed" : "fired";
    const rule = has(`rule.${ev.rule}.fired`) ? ev.rule : null;
    const who = recipients(ev, dir, employeeName).join(", ");
    let text;
    if (!rule) {
      text = t(`rule.other.${outcome}`, { rule: ev.rule });
    } else if (outcome === "fired" && /^notify_manager|^escalation/.test(rule) && !who) {
      text = t(`rule.${rule}.fired_plain`);
    } else {
      text = t(`rule.${rule}.${outcome}`, { who });
    }
    let detail = "";
    if (outcome === "suppressed") {
      if (ev.reason) text = `${text}: ${reasonText(ev.reason)}`;
    } else {
      const parts = [];
      if (rule && has(`rule.${rule}.detail`)) parts.push(t(`rule.${rule}.detail`));
      if (ev.reason && !TRIVIAL_FIRED.has(ev.reason)) parts.push(reasonText(ev.reason));
      if (ev.template) parts.push(t("timeline.template", { name: typeof ev.template === "object" ? ev.template.name : ev.template }));
      detail = parts.join("; ");
    }
    return { text, detail, kind: outcome };
  }
  // A state change: {type|kind|event|state, employee_id?, by?}
  const what = ev.type || ev.kind || ev.event || ev.state || ev.action || "";
  const who = nameOf(ev.employee_id || ev.assignee_id || ev.by || ev.actor_id, dir, employeeName);
  const key = `timeline.state.${what}`;
  const text = has(key) ? t(key, { who: who || t("timeline.system") }) : String(what || ev.reason || "—").replace(/_/g, " ");
  return { text, detail: ev.rule === undefined && ev.reason ? reasonText(ev.reason) : "", kind: "state" };
}

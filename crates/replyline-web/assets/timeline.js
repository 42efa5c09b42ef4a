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
    ev._managers ||
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

function groupName(id, data, dir) {
  if (data.group_name) return data.group_name;
  const g = dir && dir.grById ? dir.grById.get(String(id)) : null;
  return g ? g.name : String(id);
}

/**
 * The `routed` event: {routing: "round_robin"|"sticky", employee_id}, or a routing rule
 * {routing: "rule", rule_id, rule_position, keyword, employee_id|null, group_id|null}.
 */
export function routedText(data, dir, employeeName) {
  const who = data.employee_id ? nameOf(data.employee_id, dir, employeeName) : "";
  if (data.routing === "rule") {
    const n = data.rule_position ?? data.position ?? "";
    const rule = data.keyword ? t("timeline.routed.rule_keyword", { n, keyword: data.keyword }) : t("timeline.routed.rule", { n });
    if (data.group_id) {
      const group = groupName(data.group_id, data, dir);
      return who ? t("timeline.routed.to_group", { rule, group, who }) : t("timeline.routed.group_nobody", { rule, group });
    }
    return who ? t("timeline.routed.to", { rule, who }) : t("timeline.routed.queued", { rule });
  }
  if (data.routing === "round_robin") return t("timeline.routed.round_robin", { who: who || t("timeline.system") });
  if (data.routing === "sticky") return t("timeline.routed.sticky", { who: who || t("timeline.system") });
  return t("timeline.routed.other", { who: who || t("timeline.system") });
}

/**
 * The `transferred` event {from, to, group_id, comment, by}: «Чат передан → Иван Петров»
 * (through a group: «… группе «Отдел продаж»: Иван Петров»; to nobody: «Чат возвращён в
 * очередь»), the detail names who transferred it and quotes the comment.
 */
export function transferredText(data, dir, employeeName) {
  const to = data.to ? nameOf(data.to, dir, employeeName) : "";
  let text;
  if (data.group_id) text = t("timeline.transferred_group", { group: groupName(data.group_id, data, dir), who: to || t("timeline.nobody") });
  else text = to ? t("timeline.transferred", { who: to }) : t("timeline.transferred_queue");
  const by = data.by ? nameOf(data.by, dir, employeeName) : "";
  const detail = [by ? t("timeline.transferred_by", { who: by }) : "", data.comment ? `«${data.comment}»` : ""].filter(Boolean).join(" · ");
  return { text, detail, kind: "state" };
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
  // A state change: {type, data: {...}} — opened {by}, closed {auto}, assigned {employee_id},
  // wait_started {first}, wait_ended, reopened, notification {reason, managers}, settings_changed.
  const data = ev.data || {};
  let what = ev.type || ev.kind || ev.event || ev.state || ev.action || "";
  if (what === "closed" && data.auto) what = "auto_closed";
  if (what === "assigned" && !(data.employee_id || ev.employee_id)) what = "unassigned";
  if (what === "opened" && data.by === "employee") what = "opened_by_employee";
  if (what === "wait_started" && data.first === false) what = "wait_started_next";
  if (what === "routed") return { text: routedText(data, dir, employeeName), detail: "", kind: "state" };
  if (what === "transferred") return transferredText(data, dir, employeeName);
  const whoId = data.employee_id || ev.employee_id || ev.assignee_id || data.by_employee_id || ev.actor_id;
  const who = what === "notification" ? recipients(ev, dir, employeeName).join(", ") : nameOf(whoId, dir, employeeName);
  const key = `timeline.state.${what}`;
  const text = has(key) ? t(key, { who: who || t("timeline.system") }) : String(what || ev.reason || "—").replace(/_/g, " ");
  const reason = ev.reason || data.reason;
  return { text, detail: reason ? reasonText(reason) : "", kind: "state" };
}

const NOTIFY = /^(notify_manager|escalation)/;
const HIDDEN = new Set(["message", "note", "decision_hidden"]);

/**
 * Prepares a timeline for display: sorted by time, message echoes hidden (the history shows
 * them), and each `notification` event folded into the notify/escalation decision of the same
 * instant so the sentence can name the managers ("Уведомление руководителю: Ольга Смирнова").
 */
export function prepare(items) {
  const sorted = items
    .map((ev, i) => ({ ...ev, _i: i }))
    .sort((a, b) => (Date.parse(a.at) || 0) - (Date.parse(b.at) || 0) || a._i - b._i);
  const notes = sorted.filter((ev) => ev.type === "notification");
  const used = new Set();
  for (const ev of sorted) {
    if (!ev.rule || ev.outcome !== "fired" || !NOTIFY.test(ev.rule)) continue;
    const match = notes.find((n) => !used.has(n) && n.at === ev.at);
    if (match) {
      used.add(match);
      ev._managers = (match.data && match.data.managers) || [];
    }
  }
  // An API transfer records `transferred` besides the engine's `assigned` of the same instant:
  // the transfer sentence says it all.
  const transfers = sorted.filter((ev) => ev.type === "transferred");
  for (const ev of sorted) {
    if (ev.type !== "assigned") continue;
    const to = String((ev.data && ev.data.employee_id) || ev.employee_id || "");
    if (transfers.some((tr) => tr.at === ev.at && String((tr.data && tr.data.to) || "") === to)) used.add(ev);
  }
  return sorted.filter((ev) => !used.has(ev) && !HIDDEN.has(ev.type));
}

// Chat view: history with delivery ticks, the rule timeline, reply and note boxes,
// assign/transfer, "end chat" and the WhatsApp 24-hour window.
import { t } from "../i18n.js";
import { h, clear, fmtTime, fmtDateTime, waMarkup, errorText, parseTime, tickTimers, uid, icon, serverNow } from "../dom.js";
import { list } from "../api.js";
import { describe, reasonText, prepare } from "../timeline.js";
import { slaBadge, channelLabel } from "./inbox.js";
import { debounce } from "../live.js";

const AUTOMATIC = new Set(["greeting", "no_reply", "closing", "out_of_hours"]);
const WINDOW_MS = 24 * 3600 * 1000;

/** The end of the WhatsApp customer-service window, from the last client message. */
export function windowEnd(conv, messages) {
  const explicit = conv && (conv.window_expires_at || conv.customer_window_expires_at);
  if (explicit) return parseTime(explicit);
  let last = null;
  for (const m of messages) {
    if (m.direction === "in" || m.kind === "client") {
      const d = parseTime(m.created_at);
      if (d && (!last || d > last)) last = d;
    }
  }
  return last ? new Date(last.getTime() + WINDOW_MS) : null;
}

function tick(m) {
  const s = m.status;
  const label = t(`status.${s}`);
  const common = { class: `tick tick-${s}`, testid: "message-status", "data-status": s, title: label };
  switch (s) {
    case "queued":
      return h("span", { ...common, role: "img", "aria-label": label }, icon("clock", 12));
    case "sent":
      return h("span", { ...common, role: "img", "aria-label": label }, "✓");
    case "delivered":
      return h("span", { ...common, role: "img", "aria-label": label }, "✓✓");
    case "read":
      return h("span", { ...common, role: "img", "aria-label": label }, "✓✓");
    case "failed":
      return h(
        "span",
        common,
        h("span", { "aria-hidden": "true" }, "✗ "),
        h("span", { class: "tick-text", testid: "message-error" }, m.error ? `${label}: ${reasonText(m.error)}` : label),
      );
    case "skipped":
      return h(
        "span",
        common,
        h("span", { "aria-hidden": "true" }, "⊘ "),
        h("span", { class: "tick-text", testid: "message-error" }, m.error ? `${label}: ${reasonText(m.error)}` : label),
      );
    default:
      return null;
  }
}

function messageEl(m, dir, ctx) {
  const kind = m.kind || (m.direction === "in" ? "client" : "employee");
  const automatic = AUTOMATIC.has(kind);
  const cls = automatic ? "auto" : kind === "note" ? "note" : kind === "client" ? "client" : "employee";
  const author = m.employee_id ? dir.empById.get(String(m.employee_id)) : null;
  let label;
  if (automatic) label = `${t("chat.automatic")} · ${t(`message.kind.${kind}`)}`;
  else if (kind === "note") label = `${t("chat.note")} · ${author ? ctx.employeeName(author) : m.employee_id || ""}`;
  else if (kind === "employee") label = author ? ctx.employeeName(author) : m.employee_id || t("chat.employee");
  else label = t("chat.client");
  const text = m.text ? waMarkup(m.text) : h("span", { class: "muted" }, t("chat.no_text"));
  return h(
    "li",
    {
      class: `msg msg-${cls}`,
      testid: "message",
      "data-kind": kind,
      "data-status": m.status || "",
      "data-message-id": String(m.id),
    },
    h("div", { class: "msg-label" }, automatic ? h("span", { class: "auto-icon", "aria-hidden": "true" }, "⚙ ") : null, label),
    h("div", { class: "msg-text", testid: "message-text" }, text),
    h(
      "div",
      { class: "msg-foot" },
      h("time", { datetime: m.created_at, title: fmtDateTime(m.created_at) }, fmtTime(m.created_at)),
      m.direction === "out" && kind !== "note" ? tick(m) : null,
    ),
  );
}

export function mount(ctx, { id }) {
  let conv = null;
  let messages = [];
  let dir = null;
  let loading = false;
  let mode = "reply";
  const rendered = new Map(); // message id -> {el, sig}

  const title = h("h1", { class: "chat-title", testid: "chat-title" }, "…");
  const subtitle = h("div", { class: "chat-sub muted" });
  const badges = h("div", { class: "chat-badges" });
  const windowState = h("p", { class: "window-state", testid: "window-state", "aria-live": "polite" });
  const pageError = h("p", { class: "form-error", role: "alert" });

  // assign / transfer
  const assignSelect = h("select", { testid: "assign-select", id: uid("assign") });
  assignSelect.addEventListener("change", () => doAssign(assignSelect.value || null));
  const assignMe = h("button", { type: "button", class: "button", testid: "assign-me", onClick: () => doAssign(String(ctx.me.id)) }, t("chat.assign_me"));
  const endChat = h("button", { type: "button", class: "button danger", testid: "end-chat", onClick: doClose }, t("chat.end_chat"));
  const actionStatus = h("p", { class: "status", role: "status", "aria-live": "polite", testid: "chat-action-status" });

  // history
  const messagesEl = h("ol", {
    class: "messages",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    "aria-label": t("chat.history"),
    testid: "messages",
    tabindex: "0",
  });
  const timelineEl = h("ol", { class: "timeline", testid: "timeline" });

  // composer
  const replyInput = h("textarea", { rows: 3, testid: "reply-input", id: uid("reply"), placeholder: t("chat.reply_placeholder") });
  const noteInput = h("textarea", { rows: 3, testid: "note-input", id: uid("note"), placeholder: t("chat.note_placeholder") });
  const replyError = h("p", { class: "form-error", role: "alert", testid: "reply-error" });
  const noteError = h("p", { class: "form-error", role: "alert", testid: "note-error" });
  const replySend = h("button", { type: "submit", class: "button primary", testid: "reply-send" }, t("chat.send"));
  const noteSend = h("button", { type: "submit", class: "button", testid: "note-send" }, t("chat.add_note"));
  const windowWarning = h("p", { class: "warning", testid: "window-warning", hidden: true }, t("chat.error_24h"));

  const replyForm = h(
    "form",
    { class: "composer-form", onSubmit: (e) => (e.preventDefault(), send("reply")) },
    h("label", { for: replyInput.id, class: "sr-only" }, t("chat.reply_label")),
    windowWarning,
    replyInput,
    h("div", { class: "composer-actions" }, h("span", { class: "hint" }, t("chat.enter_hint")), replySend),
    replyError,
  );
  const noteForm = h(
    "form",
    { class: "composer-form note-form", hidden: true, onSubmit: (e) => (e.preventDefault(), send("note")) },
    h("label", { for: noteInput.id, class: "sr-only" }, t("chat.note_label")),
    noteInput,
    h("div", { class: "composer-actions" }, h("span", { class: "hint" }, t("chat.note_hint")), noteSend),
    noteError,
  );
  const tabReply = h("button", { type: "button", role: "tab", class: "tab", testid: "composer-reply", "aria-selected": "true", onClick: () => setMode("reply") }, t("chat.tab_reply"));
  const tabNote = h("button", { type: "button", role: "tab", class: "tab", testid: "composer-note", "aria-selected": "false", onClick: () => setMode("note") }, t("chat.tab_note"));

  function setMode(m) {
    mode = m;
    tabReply.setAttribute("aria-selected", String(m === "reply"));
    tabNote.setAttribute("aria-selected", String(m === "note"));
    replyForm.hidden = m !== "reply";
    noteForm.hidden = m !== "note";
    (m === "reply" ? replyInput : noteInput).focus();
  }

  for (const [input, which] of [
    [replyInput, "reply"],
    [noteInput, "note"],
  ]) {
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        send(which);
      }
    });
  }

  async function send(which) {
    const input = which === "reply" ? replyInput : noteInput;
    const errEl = which === "reply" ? replyError : noteError;
    const button = which === "reply" ? replySend : noteSend;
    const text = input.value;
    if (!text.trim()) return;
    errEl.textContent = "";
    button.disabled = true;
    try {
      const m = which === "reply" ? await ctx.api.sendMessage(id, text) : await ctx.api.addNote(id, text);
      input.value = "";
      if (m && m.id !== undefined) {
        messages = messages.filter((x) => String(x.id) !== String(m.id)).concat([m]);
        renderMessages(true);
      }
      refresh();
    } catch (err) {
      const is24h = err.code === "outside_24h_window" || /outside_24h_window/.test(err.message || "");
      errEl.textContent = is24h ? t("chat.error_24h") : errorText(err);
    } finally {
      button.disabled = false;
      input.focus();
    }
  }

  async function doAssign(employeeId) {
    actionStatus.textContent = "";
    try {
      await ctx.api.assign(id, employeeId);
      const e = employeeId ? dir.empById.get(String(employeeId)) : null;
      actionStatus.textContent = employeeId ? t("chat.assigned_to", { name: e ? ctx.employeeName(e) : employeeId }) : t("chat.unassigned_done");
      await refresh();
    } catch (err) {
      actionStatus.textContent = errorText(err);
      renderHead();
    }
  }

  async function doClose() {
    endChat.disabled = true;
    actionStatus.textContent = "";
    try {
      const c = await ctx.api.close(id);
      if (c && c.id) conv = c;
      actionStatus.textContent = t("chat.closed_done");
      await refresh();
    } catch (err) {
      actionStatus.textContent = errorText(err);
      endChat.disabled = false;
    }
  }

  function channelKind() {
    if (!conv) return "";
    return channelLabel(dir, conv).kind;
  }

  function renderHead() {
    if (!conv) return;
    const contact = conv.contact || {};
    title.textContent = contact.name || contact.address || t("chat.unknown_contact");
    const ch = channelLabel(dir, conv);
    clear(
      subtitle,
      contact.name && contact.address ? h("span", { testid: "contact-address" }, contact.address) : null,
      h("span", { class: `channel channel-${ch.kind}` }, ch.text),
      conv.opened_at ? h("span", {}, `${t("chat.opened")} ${fmtDateTime(conv.opened_at)}`) : null,
    );
    const closed = conv.status === "closed";
    clear(
      badges,
      h("span", { class: `status-pill ${closed ? "closed" : "open"}`, testid: "chat-status", "data-status": conv.status }, t(`conversation.status.${closed ? "closed" : "open"}`)),
      closed ? null : slaBadge(conv),
      !closed && conv.waiting_since
        ? h("span", { class: "timer-wrap" }, `${t("inbox.waiting")}: `, h("span", { class: "timer", testid: "waiting-timer", "data-since": conv.waiting_since }))
        : null,
    );
    tickTimers(badges);
    endChat.disabled = closed;
    endChat.textContent = closed ? t("chat.already_closed") : t("chat.end_chat");

    // assignee select
    const current = conv.assignee_id ? String(conv.assignee_id) : "";
    if (document.activeElement !== assignSelect) {
      clear(assignSelect).append(h("option", { value: "" }, t("chat.nobody")));
      const staff = dir.employees.filter((e) => e.active !== false && !e.deactivated_at);
      if (current && !staff.some((e) => String(e.id) === current)) {
        const e = dir.empById.get(current);
        staff.push(e || { id: current, name: current });
      }
      for (const e of staff) {
        assignSelect.append(h("option", { value: String(e.id), selected: String(e.id) === current }, ctx.employeeName(e)));
      }
      assignSelect.value = current;
    }
    assignMe.hidden = current === String(ctx.me.id);

    // 24-hour window (WhatsApp)
    const kind = channelKind();
    if (kind === "whatsapp" || (!kind && conv.window_expires_at)) {
      const end = windowEnd(conv, messages);
      const open = end && end.getTime() > serverNow();
      windowState.hidden = false;
      windowState.dataset.state = open ? "open" : "closed";
      windowState.className = `window-state ${open ? "open" : "closed"}`;
      windowState.textContent = open ? t("chat.window_open_until", { time: fmtDateTime(end.toISOString()) }) : t("chat.window_closed");
      windowWarning.hidden = open || closed;
    } else {
      windowState.hidden = true;
      windowWarning.hidden = true;
    }
  }

  function renderMessages(scrollToEnd = false) {
    const nearBottom = messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 80;
    const seen = new Set();
    if (messages.length === 0 && !messagesEl.querySelector(".empty")) {
      clear(messagesEl).append(h("li", { class: "empty" }, t("chat.no_messages")));
      rendered.clear();
    } else if (messages.length) {
      const empty = messagesEl.querySelector(".empty");
      if (empty) empty.remove();
    }
    let prev = null;
    for (const m of messages) {
      const key = String(m.id);
      seen.add(key);
      const sig = `${m.status}|${m.error || ""}|${m.text || ""}|${m.employee_id || ""}`;
      const have = rendered.get(key);
      if (have && have.sig === sig) {
        prev = have.el;
        continue;
      }
      const el = messageEl(m, dir, ctx);
      if (have) have.el.replaceWith(el);
      else if (prev) prev.after(el);
      else messagesEl.prepend(el);
      rendered.set(key, { el, sig });
      prev = el;
    }
    for (const [key, v] of rendered) {
      if (!seen.has(key)) {
        v.el.remove();
        rendered.delete(key);
      }
    }
    if (scrollToEnd || nearBottom) messagesEl.scrollTop = messagesEl.scrollHeight;
  }

  function renderTimeline(items) {
    clear(timelineEl);
    if (!items.length) {
      timelineEl.append(h("li", { class: "empty" }, t("timeline.empty")));
      return;
    }
    for (const ev of items) {
      const d = describe(ev, dir, ctx.employeeName);
      timelineEl.append(
        h(
          "li",
          { class: `tl-item tl-${d.kind}`, testid: "timeline-item", "data-type": ev.type || "", "data-rule": ev.rule || "", "data-outcome": ev.outcome || "", "data-reason": ev.reason || "" },
          h("time", { datetime: ev.at, title: fmtDateTime(ev.at) }, fmtTime(ev.at)),
          h("span", { class: "tl-text", testid: "timeline-text" }, d.text),
          d.detail ? h("span", { class: "tl-detail muted" }, d.detail) : null,
        ),
      );
    }
  }

  let first = true;
  async function refresh() {
    if (loading) return;
    loading = true;
    try {
      const [c, msgs, events, d] = await Promise.all([
        ctx.api.conversation(id),
        ctx.api.messages(id).then(list),
        ctx.api.timeline(id).then(list).catch(() => null),
        ctx.directory(),
      ]);
      conv = c;
      messages = msgs;
      dir = d;
      renderHead();
      renderMessages(first);
      if (events) renderTimeline(prepare(events));
      pageError.textContent = "";
      first = false;
    } catch (err) {
      pageError.textContent = errorText(err);
    } finally {
      loading = false;
    }
  }

  const refreshSoon = debounce(refresh, 150);

  const el = h(
    "section",
    { class: "page chat" },
    h(
      "header",
      { class: "chat-head" },
      h("a", { href: "#/inbox", class: "back", testid: "back-to-inbox" }, `← ${t("nav.inbox")}`),
      h("div", { class: "chat-headline" }, title, subtitle, badges, windowState),
      h(
        "div",
        { class: "chat-actions" },
        h("label", { for: assignSelect.id }, t("chat.assignee")),
        assignSelect,
        assignMe,
        endChat,
        actionStatus,
      ),
    ),
    pageError,
    h(
      "div",
      { class: "chat-body" },
      h(
        "div",
        { class: "chat-main" },
        messagesEl,
        h("div", { class: "composer" }, h("div", { role: "tablist", class: "tabs", "aria-label": t("chat.composer") }, tabReply, tabNote), replyForm, noteForm),
      ),
      h("aside", { class: "chat-side", "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, t("timeline.title")), timelineEl),
    ),
  );
  refresh();
  const windowTimer = setInterval(() => conv && dir && renderHead(), 30_000);
  return {
    el,
    title: t("chat.title"),
    refresh,
    destroy: () => clearInterval(windowTimer),
    onEvent(msg) {
      const d = msg.data || {};
      const cid = d.conversation_id ?? (msg.type === "conversation.updated" ? d.id : undefined) ?? (d.conversation && d.conversation.id);
      if (cid === undefined || String(cid) === String(id)) refreshSoon();
    },
  };
}

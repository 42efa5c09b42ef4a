// Chat view: the client's earlier chats above this one, history with delivery ticks (authors
// grouped), the contact card, labels, the rule timeline, reply (with quick replies after "/")
// and note (with @mentions) boxes, take/transfer/leave, "end chat" with a confirmation, and the
// WhatsApp 24-hour window.
import { t, getLang, has } from "../i18n.js";
import { h, clear, fmtTime, fmtClock, fmtDateTime, waMarkup, errorText, parseTime, tickTimers, uid, icon, serverNow } from "../dom.js";
import { list } from "../api.js";
import { describe, reasonText, prepare } from "../timeline.js";
import { slaBadge, channelLabel, statusChip, labelChips } from "./inbox.js";
import { debounce } from "../live.js";
import { suggestPopup, replaceRange, modal, confirmDialog, renderTemplate } from "../widgets.js";
import { providerErrorText } from "../errors.js";
import { mediaOf, mediaSig, fileProblem, filePreview } from "./media.js";
import { openTemplateDialog } from "./wa_templates.js";

const AUTOMATIC = new Set(["greeting", "no_reply", "closing", "out_of_hours"]);
const WINDOW_MS = 24 * 3600 * 1000;
const PHONE = "(max-width: 899px)";

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

/** Why a message was not sent, in the UI's language: an engine reason or the provider's error. */
export function failureText(m) {
  if (m.delivery_unknown) return t("chat.delivery_unknown");
  if (!m.error) return "";
  return has(`reason.${m.error}`) ? reasonText(m.error) : providerErrorText(m.error);
}

function tick(m) {
  const s = m.status;
  const label = t(`status.${s}`);
  const common = { class: `tick tick-${s}`, testid: "message-status", "data-status": s, title: label };
  switch (s) {
    case "queued":
      if (m.error) {
        // a failing send the outbox retries: say why and when the next attempt is
        const retry = m.retry_at ? t("chat.retry_at", { time: fmtClock(m.retry_at) }) : "";
        return h(
          "span",
          { ...common, class: `${common.class} tick-retry` },
          icon("clock", 12),
          h("span", { class: "tick-text", testid: "message-error" }, ` ${t("chat.not_sent", { reason: providerErrorText(m.error) })}${retry ? ` · ${retry}` : ""}`),
        );
      }
      return h("span", { ...common, role: "img", "aria-label": label }, icon("clock", 12));
    case "sent":
      return h("span", { ...common, role: "img", "aria-label": label }, "✓");
    case "delivered":
    case "read":
      return h("span", { ...common, role: "img", "aria-label": label }, "✓✓");
    case "failed":
    case "skipped":
      return h(
        "span",
        common,
        h("span", { "aria-hidden": "true" }, s === "failed" ? "✗ " : "⊘ "),
        h("span", { class: "tick-text", testid: "message-error" }, m.delivery_unknown ? t("chat.delivery_unknown") : m.error ? `${label}: ${failureText(m)}` : label),
      );
    default:
      return null;
  }
}

function kindOf(m) {
  return m.kind || (m.direction === "in" ? "client" : "employee");
}

/** Who wrote a message, as a key: consecutive messages with the same key are one group. */
function authorKey(m) {
  const kind = kindOf(m);
  if (AUTOMATIC.has(kind)) return "auto";
  if (kind === "client") return "client";
  return `${kind}:${m.employee_id || ""}`;
}

/** The author line of a group's first message: the name once (a note says it is a note). */
function authorLabel(m, dir, ctx, contactName) {
  const kind = kindOf(m);
  const author = m.employee_id ? dir.empById.get(String(m.employee_id)) : null;
  const name = author ? ctx.employeeName(author) : m.employee_id || t("chat.employee");
  if (AUTOMATIC.has(kind)) return t("chat.automatic");
  if (kind === "note") return `${t("chat.note")} · ${name}`;
  if (kind === "employee") return name;
  return contactName || t("chat.client");
}

/** The text without a leading signature that only repeats the author line ("*Иван*:\n"). */
function withoutSignature(text, name) {
  const s = String(text ?? "");
  if (!name) return s;
  const sig = `*${name}*:\n`;
  return s.startsWith(sig) ? s.slice(sig.length) : s;
}

function messageEl(m, dir, ctx, { cont, contactName, earlier }) {
  const kind = kindOf(m);
  const automatic = AUTOMATIC.has(kind);
  const cls = automatic ? "auto" : kind === "note" ? "note" : kind === "client" ? "client" : "employee";
  const label = authorLabel(m, dir, ctx, contactName);
  const author = m.employee_id ? dir.empById.get(String(m.employee_id)) : null;
  const raw = kind === "employee" && author ? withoutSignature(m.text, ctx.employeeName(author)) : m.text;
  const media = mediaOf(m);
  // a location or contact message's text is only the server's summary of its card
  const summary = m.details && /^\[(location|contacts?)\b/.test(String(raw || ""));
  const text = raw && !summary ? waMarkup(raw) : media ? null : h("span", { class: "muted" }, t("chat.no_text"));
  return h(
    "li",
    {
      class: `msg msg-${cls}${cont ? " msg-cont" : ""}`,
      id: `m${m.id}`,
      testid: "message",
      "data-kind": kind,
      "data-status": m.status || "",
      "data-message-id": String(m.id),
      "data-earlier": earlier ? "true" : false,
    },
    cont
      ? h("span", { class: "sr-only" }, `${label}: `)
      : h(
          "div",
          { class: "msg-label", testid: "message-author" },
          automatic ? h("span", { class: "auto-icon", "aria-hidden": "true" }, "⚙ ") : null,
          label,
          automatic ? h("span", { class: "msg-kind" }, ` · ${t(`message.kind.${kind}`)}`) : null,
        ),
    cont && automatic ? h("div", { class: "msg-label" }, t(`message.kind.${kind}`)) : null,
    media,
    text || !media ? h("div", { class: `msg-text${media ? " msg-caption" : ""}`, testid: "message-text" }, text) : null,
    m.template ? h("div", { class: "msg-template muted small", testid: "message-template" }, t("chat.sent_as_template", { name: m.template })) : null,
    h(
      "div",
      { class: "msg-foot" },
      h("time", { datetime: m.created_at, title: fmtDateTime(m.created_at) }, fmtTime(m.created_at)),
      m.direction === "out" && kind !== "note" ? tick(m) : null,
    ),
  );
}

/** Messages with their group flags: `cont` when the previous one has the same author. */
function grouped(messages) {
  let prev = null;
  return messages.map((m) => {
    const key = authorKey(m);
    const cont = prev !== null && prev === key && key !== "auto";
    prev = key;
    return { m, cont };
  });
}

function dateOnly(iso) {
  const d = parseTime(iso);
  if (!d) return "";
  return new Intl.DateTimeFormat(getLang() === "en" ? "en-GB" : "ru-RU", { day: "2-digit", month: "2-digit", year: "numeric" }).format(d);
}

export function mount(ctx, { id, message, onRead } = {}) {
  let conv = null;
  let messages = [];
  let dir = null;
  let loading = false;
  let destroyed = false;
  let focusMessage = message ? String(message) : "";
  let lastRead = "";
  let earlierFor = null; // the contact whose earlier chats are shown
  let quickReplies = null;
  let allLabels = null;
  const mentioned = new Map(); // "@Name" -> employee id
  const rendered = new Map(); // message id -> {el, sig}

  const title = h("h2", { class: "chat-title", testid: "chat-title" }, "…");
  const subtitle = h("div", { class: "chat-sub muted" });
  const badges = h("div", { class: "chat-badges" });
  const labelsBox = h("div", { class: "chat-labels", testid: "chat-labels", hidden: true });
  const windowState = h("p", { class: "window-state", testid: "window-state", "aria-live": "polite" });
  const pageError = h("p", { class: "form-error", role: "alert" });

  // ---- actions -------------------------------------------------------------------------
  const assignMe = h("button", { type: "button", class: "button", testid: "assign-me", onClick: takeChat }, t("chat.assign_me"));
  const transferBtn = h("button", { type: "button", class: "button", testid: "transfer-open", onClick: openTransfer }, t("chat.transfer"));
  const endChat = h("button", { type: "button", class: "button danger", testid: "end-chat", onClick: askClose }, t("chat.end_chat"));
  const leaveBtn = h("button", { type: "button", class: "button", testid: "leave-chat", hidden: true, onClick: doLeave }, t("chat.leave"));
  const assigneeLine = h("span", { class: "assignee-line muted", testid: "chat-assignee" });
  const actionStatus = h("p", { class: "status", role: "status", "aria-live": "polite", testid: "chat-action-status" });

  // ---- history -------------------------------------------------------------------------
  const earlierList = h("ol", { class: "earlier-list", "aria-label": t("chat.earlier") });
  const earlierEl = h("li", { class: "earlier", testid: "earlier-chats", hidden: true }, earlierList);
  const messagesEl = h(
    "ol",
    {
      class: "messages",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      "aria-label": t("chat.history"),
      testid: "messages",
      tabindex: "0",
    },
    earlierEl,
  );
  const timelineEl = h("ol", { class: "timeline", testid: "timeline" });

  // ---- composer ------------------------------------------------------------------------
  const replyInput = h("textarea", { rows: 2, testid: "reply-input", id: uid("reply"), placeholder: t("chat.reply_placeholder") });
  const noteInput = h("textarea", { rows: 2, testid: "note-input", id: uid("note"), placeholder: t("chat.note_placeholder") });
  const replyError = h("p", { class: "form-error", role: "alert", testid: "reply-error" });
  const noteError = h("p", { class: "form-error", role: "alert", testid: "note-error" });
  const replySend = h("button", { type: "submit", class: "button primary", testid: "reply-send" }, t("chat.send"));
  const noteSend = h("button", { type: "submit", class: "button", testid: "note-send" }, t("chat.add_note"));
  // WhatsApp: files (paperclip, paste, drop) and templates (always offered; prominent when the
  // 24-hour window is closed)
  let pendingFile = null;
  const fileInput = h("input", { type: "file", class: "sr-only", testid: "file-input", tabindex: "-1", "aria-hidden": "true" });
  const attachBtn = h("button", { type: "button", class: "button icon-button", testid: "attach-file", title: t("media.attach"), "aria-label": t("media.attach"), onClick: () => fileInput.click() }, icon("clip", 18));
  const fileBox = h("div", { class: "file-box", testid: "file-box", hidden: true });
  const templateBtn = h("button", { type: "button", class: "button", testid: "template-open", hidden: true, onClick: openTemplates }, t("template.button"));
  const windowTemplateBtn = h("button", { type: "button", class: "button primary", testid: "window-template", onClick: openTemplates }, t("template.button_closed"));
  const windowWarning = h("div", { class: "warning window-warning", testid: "window-warning", hidden: true }, h("p", {}, t("chat.error_24h"), " ", t("template.window_hint")), windowTemplateBtn);
  fileInput.addEventListener("change", () => {
    if (fileInput.files && fileInput.files[0]) chooseFile(fileInput.files[0]);
    fileInput.value = "";
  });
  const replyClosed = h("p", { class: "reply-closed", testid: "reply-closed", hidden: true }, t("chat.reply_closed"));

  const qrPopup = suggestPopup({
    input: replyInput,
    trigger: "/",
    testid: "quick-reply-popup",
    emptyText: t("qr.popup_empty"),
    items: async (q) => {
      const all = await loadQuickReplies();
      const needle = q.toLocaleLowerCase();
      return all
        .filter((r) => !needle || `${r.title} ${r.text}`.toLocaleLowerCase().includes(needle))
        .map((r) => ({ key: r.id, label: r.title, detail: String(r.text).slice(0, 80), reply: r }));
    },
    onPick: async (item, range) => replaceRange(replyInput, range.start, range.end, await renderQuickReply(item.reply)),
  });
  const mentionPopup = suggestPopup({
    input: noteInput,
    trigger: "@",
    testid: "mention-popup",
    items: (q) => {
      const needle = q.toLocaleLowerCase();
      return (dir ? dir.employees : [])
        .filter((e) => e.active !== false && !e.deactivated_at && String(e.id) !== String(ctx.me.id))
        .filter((e) => !needle || `${e.name || ""} ${e.display_name || ""}`.toLocaleLowerCase().includes(needle))
        .map((e) => ({ key: e.id, label: ctx.employeeName(e), detail: t(`role.${e.role}`) }));
    },
    onPick: (item, range) => {
      mentioned.set(`@${item.label}`, String(item.key));
      replaceRange(noteInput, range.start, range.end, `@${item.label} `);
    },
  });

  const replyForm = h(
    "form",
    { class: "composer-form", onSubmit: (e) => (e.preventDefault(), send("reply")) },
    h("label", { for: replyInput.id, class: "sr-only" }, t("chat.reply_label")),
    windowWarning,
    replyClosed,
    fileBox,
    h("div", { class: "suggest-anchor" }, qrPopup.el, replyInput),
    h(
      "div",
      { class: "composer-actions" },
      h("span", { class: "hint" }, t("chat.enter_hint"), " ", t("chat.slash_hint"), " ", h("a", { href: "#/quick-replies", testid: "quick-replies-link" }, t("qr.manage"))),
      h("span", { class: "composer-buttons" }, fileInput, attachBtn, templateBtn, replySend),
    ),
    replyError,
  );
  const noteForm = h(
    "form",
    { class: "composer-form note-form", hidden: true, onSubmit: (e) => (e.preventDefault(), send("note")) },
    h("label", { for: noteInput.id, class: "sr-only" }, t("chat.note_label")),
    h("div", { class: "suggest-anchor" }, mentionPopup.el, noteInput),
    h("div", { class: "composer-actions" }, h("span", { class: "hint" }, t("chat.note_hint"), " ", t("chat.mention_hint")), noteSend),
    noteError,
  );
  const tabReply = h("button", { type: "button", role: "tab", class: "tab", testid: "composer-reply", "aria-selected": "true", onClick: () => setMode("reply") }, t("chat.tab_reply"));
  const tabNote = h("button", { type: "button", role: "tab", class: "tab", testid: "composer-note", "aria-selected": "false", onClick: () => setMode("note") }, t("chat.tab_note"));

  function setMode(m) {
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

  async function loadQuickReplies() {
    if (quickReplies) return quickReplies;
    try {
      quickReplies = list(await ctx.api.quickReplies());
    } catch {
      quickReplies = [];
    }
    return quickReplies;
  }

  /** The quick reply's text with its variables filled in: by the server, else here. */
  async function renderQuickReply(r) {
    try {
      const out = await ctx.api.renderQuickReply(r.id, id);
      if (out && typeof out.text === "string") return out.text;
    } catch {
      /* the server cannot render it: fill in what the UI knows */
    }
    const contact = (conv && conv.contact) || {};
    const vars = {
      client_name: contact.name || "",
      employee_name: ctx.me.display_name || ctx.me.name || "",
      company_name: ctx.me.company_name || "",
    };
    return renderTemplate(r.text, vars, null) || r.text;
  }

  /** Ids of the people @mentioned in `text` through the popup. */
  function mentionsIn(text) {
    const ids = [];
    for (const [token, eid] of mentioned) if (text.includes(token) && !ids.includes(eid)) ids.push(eid);
    return ids;
  }

  /** A file chosen, pasted or dropped: checked against Meta's limits, then previewed. */
  function chooseFile(file) {
    replyError.textContent = "";
    if (replyInput.disabled) return;
    const problem = fileProblem(file);
    if (problem) {
      replyError.textContent = problem;
      return;
    }
    setMode("reply");
    pendingFile = file;
    clear(fileBox, filePreview(file, () => dropFile()));
    fileBox.hidden = false;
    replyInput.placeholder = t("media.caption_placeholder");
    replyInput.focus();
  }

  function dropFile() {
    pendingFile = null;
    clear(fileBox);
    fileBox.hidden = true;
    replyInput.placeholder = t("chat.reply_placeholder");
  }

  replyInput.addEventListener("paste", (e) => {
    const files = e.clipboardData && e.clipboardData.files;
    if (files && files.length) {
      e.preventDefault();
      chooseFile(files[0]);
    }
  });

  function openTemplates() {
    if (!conv) return;
    openTemplateDialog(ctx, conv.channel_id, async (template) => {
      const m = await ctx.api.sendTemplate(id, template);
      replyError.textContent = "";
      if (m && m.id !== undefined) {
        messages = messages.filter((x) => String(x.id) !== String(m.id)).concat([m]);
        renderMessages(true);
      }
      refresh();
    });
  }

  async function send(which) {
    const input = which === "reply" ? replyInput : noteInput;
    const errEl = which === "reply" ? replyError : noteError;
    const button = which === "reply" ? replySend : noteSend;
    const text = input.value;
    const file = which === "reply" ? pendingFile : null;
    if ((!text.trim() && !file) || input.disabled) return;
    if (file && text.length > 1024) {
      errEl.textContent = t("media.caption_too_long");
      return;
    }
    errEl.textContent = "";
    button.disabled = true;
    try {
      const m = file ? await ctx.api.sendFile(id, file, text.trim() ? text : "") : which === "reply" ? await ctx.api.sendMessage(id, text) : await ctx.api.addNoteWithMentions(id, text, mentionsIn(text));
      input.value = "";
      if (file) dropFile();
      if (which === "note") mentioned.clear();
      if (m && m.id !== undefined) {
        messages = messages.filter((x) => String(x.id) !== String(m.id)).concat([m]);
        renderMessages(true);
      }
      refresh();
    } catch (err) {
      const is24h = err.code === "outside_24h_window" || /outside_24h_window/.test(err.message || "");
      errEl.textContent = is24h ? t("chat.error_24h") : errorText(err);
      if (is24h && which === "reply") windowWarning.hidden = false;
    } finally {
      button.disabled = false;
      if (!input.disabled) input.focus();
    }
  }

  // ---- take, transfer, leave, close ------------------------------------------------------

  async function doTransfer(body) {
    actionStatus.textContent = "";
    await ctx.api.transfer(id, body);
    const e = body.employee_id ? dir.empById.get(String(body.employee_id)) : null;
    const g = body.group_id ? dir.grById.get(String(body.group_id)) : null;
    actionStatus.textContent = e
      ? t("chat.assigned_to", { name: ctx.employeeName(e) })
      : g
        ? t("chat.transferred_group", { name: g.name })
        : t("chat.unassigned_done");
    await refresh(true);
  }

  /** «Взять себе»: a colleague may have taken the chat or it may be closed; say so. */
  async function takeChat() {
    try {
      await doTransfer({ employee_id: String(ctx.me.id) });
    } catch (err) {
      actionStatus.textContent = errorText(err);
    }
  }

  function openTransfer() {
    const target = h("select", { testid: "transfer-target", id: uid("tt"), required: true });
    target.append(h("option", { value: "" }, t("chat.transfer_choose")));
    const staff = dir.employees.filter((e) => e.active !== false && !e.deactivated_at && String(e.id) !== String(conv.assignee_id || ""));
    const people = h("optgroup", { label: t("chat.transfer_employees") }, staff.map((e) => h("option", { value: `e:${e.id}` }, ctx.employeeName(e))));
    target.append(people);
    if (dir.groups.length) target.append(h("optgroup", { label: t("chat.transfer_groups") }, dir.groups.map((g) => h("option", { value: `g:${g.id}` }, g.name))));
    const comment = h("textarea", { rows: 3, testid: "transfer-comment", id: uid("tc"), placeholder: t("chat.transfer_comment_hint") });
    const error = h("p", { class: "form-error", role: "alert", testid: "transfer-error" });
    const submit = h("button", { type: "submit", class: "button primary", testid: "transfer-submit" }, t("chat.transfer_submit"));
    const cancel = h("button", { type: "button", class: "button", testid: "transfer-cancel" }, t("common.cancel"));
    const form = h(
      "form",
      { class: "transfer-form" },
      h("div", { class: "field" }, h("label", { for: target.id }, t("chat.transfer_to")), target),
      h("div", { class: "field" }, h("label", { for: comment.id }, t("chat.transfer_comment")), comment),
      error,
      h("div", { class: "form-actions dialog-actions" }, submit, cancel),
    );
    const dlg = modal({ title: t("chat.transfer"), testid: "transfer-dialog", body: [form] });
    cancel.addEventListener("click", () => dlg.close());
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const v = target.value;
      if (!v) {
        error.textContent = t("chat.transfer_choose_error");
        return;
      }
      const body = v.startsWith("g:") ? { group_id: v.slice(2) } : { employee_id: v.slice(2) };
      if (comment.value.trim()) body.comment = comment.value.trim();
      submit.disabled = true;
      try {
        await doTransfer(body);
        dlg.close();
      } catch (err) {
        error.textContent = errorText(err);
        submit.disabled = false;
      }
    });
    dlg.open();
    target.focus();
  }

  async function doLeave() {
    actionStatus.textContent = "";
    try {
      await ctx.api.leave(id);
      actionStatus.textContent = t("chat.left");
      ctx.navigate("/inbox");
    } catch (err) {
      actionStatus.textContent = errorText(err);
    }
  }

  async function askClose() {
    const ok = await confirmDialog({
      title: t("chat.end_confirm_title"),
      text: t("chat.end_confirm_text"),
      yes: t("chat.end_chat"),
      testid: "end-chat-confirm",
      danger: true,
    });
    if (ok) await doClose();
    else endChat.focus();
  }

  async function doClose() {
    endChat.disabled = true;
    actionStatus.textContent = "";
    try {
      const c = await ctx.api.close(id);
      if (c && c.id) conv = c;
      actionStatus.textContent = t("chat.closed_done");
      await refresh(true);
    } catch (err) {
      actionStatus.textContent = errorText(err);
      endChat.disabled = false;
    }
  }

  // ---- labels -----------------------------------------------------------------------------

  const labelListId = uid("labels");
  const labelDatalist = h("datalist", { id: labelListId });
  const labelInput = h("input", {
    type: "text",
    class: "label-input",
    testid: "chat-label-input",
    list: labelListId,
    autocomplete: "off",
    placeholder: t("labels.add_placeholder"),
    "aria-label": t("labels.add"),
  });
  const labelError = h("span", { class: "form-error", role: "alert", testid: "chat-label-error" });
  labelInput.addEventListener("focus", loadLabels);
  labelInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === ",") {
      e.preventDefault();
      addLabel(labelInput.value);
    }
  });
  labelInput.addEventListener("change", () => {
    if (allLabels && allLabels.includes(labelInput.value)) addLabel(labelInput.value);
  });

  async function loadLabels() {
    if (allLabels) return;
    try {
      allLabels = list(await ctx.api.labels()).map(String);
    } catch {
      allLabels = [];
    }
    clear(labelDatalist, allLabels.map((l) => h("option", { value: l })));
  }

  async function saveLabels(next) {
    labelError.textContent = "";
    try {
      const c = await ctx.api.setLabels(id, next);
      if (c && c.id) conv = c;
      else conv.labels = next;
      allLabels = null;
      renderHead();
    } catch (err) {
      labelError.textContent = errorText(err);
    }
  }

  function addLabel(raw) {
    const label = String(raw || "").trim();
    if (!label) return;
    const have = conv.labels || [];
    labelInput.value = "";
    if (have.some((l) => l.toLocaleLowerCase() === label.toLocaleLowerCase())) return;
    saveLabels([...have, label]).then(() => labelInput.focus());
  }

  function renderLabels() {
    if (!conv || !Array.isArray(conv.labels)) {
      labelsBox.hidden = true;
      return;
    }
    labelsBox.hidden = false;
    const chips = labelChips(conv.labels, {
      testid: "chat-label",
      onRemove: (l) => saveLabels(conv.labels.filter((x) => x !== l)),
    });
    const focused = document.activeElement === labelInput;
    clear(labelsBox, h("span", { class: "labels-title muted" }, `${t("labels.title")}:`), chips, labelInput, labelDatalist, labelError);
    if (focused) labelInput.focus();
  }

  // ---- head -------------------------------------------------------------------------------

  /** Whether I only observe this chat: the server says whether I may manage it. */
  function amObserver() {
    const me = String(ctx.me.id);
    const observing = (conv.observer_ids || []).map(String).includes(me) && String(conv.assignee_id || "") !== me;
    return observing && conv.can_manage !== true;
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
      statusChip(conv, "chat-status"),
      closed ? null : slaBadge(conv),
      !closed && conv.waiting_since
        ? h("span", { class: "timer-wrap" }, `${t("inbox.waiting")}: `, h("span", { class: "timer", testid: "waiting-timer", "data-since": conv.waiting_since }))
        : null,
      amObserver() ? h("span", { class: "observer-pill", testid: "observer-badge" }, t("chat.observer")) : null,
    );
    tickTimers(badges);
    renderLabels();

    const observer = amObserver();
    const current = conv.assignee_id ? String(conv.assignee_id) : "";
    const assignee = current ? dir.empById.get(current) : null;
    assigneeLine.textContent = `${t("chat.assignee")}: ${assignee ? ctx.employeeName(assignee) : current || t("inbox.unassigned")}`;
    assignMe.hidden = closed || observer || current === String(ctx.me.id);
    transferBtn.hidden = closed || observer;
    endChat.hidden = observer;
    endChat.disabled = closed;
    endChat.textContent = closed ? t("chat.already_closed") : t("chat.end_chat");
    leaveBtn.hidden = !observer;

    // The reply box closes with the chat.
    replyInput.disabled = closed;
    replySend.disabled = closed;
    replyClosed.hidden = !closed;
    replyInput.placeholder = closed ? t("chat.reply_closed") : pendingFile ? t("media.caption_placeholder") : t("chat.reply_placeholder");
    attachBtn.disabled = closed;

    // 24-hour window (WhatsApp)
    const kind = channelLabel(dir, conv).kind;
    if (!closed && (kind === "whatsapp" || (!kind && conv.window_expires_at))) {
      const end = windowEnd(conv, messages);
      const open = end && end.getTime() > serverNow();
      windowState.hidden = false;
      windowState.dataset.state = open ? "open" : "closed";
      windowState.className = `window-state ${open ? "open" : "closed"}`;
      windowState.textContent = open ? t("chat.window_open_until", { time: fmtDateTime(end.toISOString()) }) : t("chat.window_closed");
      windowWarning.hidden = open;
      templateBtn.hidden = false;
      attachBtn.hidden = false;
    } else {
      windowState.hidden = true;
      windowWarning.hidden = true;
      templateBtn.hidden = true;
      attachBtn.hidden = kind && kind !== "whatsapp";
    }
  }

  // ---- messages ---------------------------------------------------------------------------

  function renderMessages(scrollToEnd = false) {
    const nearBottom = messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 80;
    const seen = new Set();
    const contactName = conv && conv.contact ? conv.contact.name : "";
    let empty = messagesEl.querySelector(":scope > .empty");
    if (messages.length === 0 && !empty) {
      empty = h("li", { class: "empty" }, t("chat.no_messages"));
      earlierEl.after(empty);
    } else if (messages.length && empty) empty.remove();
    let prev = earlierEl;
    for (const { m, cont } of grouped(messages)) {
      const key = String(m.id);
      seen.add(key);
      const sig = `${m.status}|${m.error || ""}|${m.retry_at || ""}|${m.delivery_unknown ? 1 : 0}|${m.text || ""}|${m.employee_id || ""}|${cont}|${contactName}|${mediaSig(m)}`;
      const have = rendered.get(key);
      if (have && have.sig === sig) {
        prev = have.el;
        continue;
      }
      const el = messageEl(m, dir, ctx, { cont, contactName });
      if (have) have.el.replaceWith(el);
      else prev.after(el);
      rendered.set(key, { el, sig });
      prev = el;
    }
    for (const [key, v] of rendered) {
      if (!seen.has(key)) {
        v.el.remove();
        rendered.delete(key);
      }
    }
    if (focusMessage) return;
    if (scrollToEnd || nearBottom) messagesEl.scrollTop = messagesEl.scrollHeight;
  }

  /** Every earlier conversation with this contact, with its messages, above this one. */
  async function loadEarlier() {
    const contactId = conv && conv.contact && conv.contact.id;
    if (!contactId || earlierFor === String(contactId)) return;
    earlierFor = String(contactId);
    let convs;
    try {
      convs = list(await ctx.api.contactConversations(contactId));
    } catch {
      return; // no history endpoint (yet): only this chat
    }
    // Earlier = opened before this one (the id breaks ties of the same instant).
    const order = (a, b) => (Date.parse(a.opened_at) || 0) - (Date.parse(b.opened_at) || 0) || Number(a.id) - Number(b.id);
    const before = convs.filter((c) => String(c.id) !== String(id) && order(c, conv) < 0);
    before.sort(order);
    const withMessages = await Promise.all(before.map((c) => ctx.api.messages(c.id).then(list).catch(() => []).then((msgs) => ({ c, msgs }))));
    if (destroyed) return;
    const contactName = conv.contact.name || "";
    // The history is not news: screen readers are not to read it out as new messages.
    messagesEl.setAttribute("aria-busy", "true");
    clear(earlierList);
    for (const { c, msgs } of withMessages) {
      earlierList.append(
        h(
          "li",
          { class: "earlier-separator", testid: "earlier-separator", "data-conversation-id": String(c.id) },
          h("a", { href: `#/chat/${encodeURIComponent(c.id)}` }, t("chat.earlier_chat", { date: dateOnly(c.opened_at) })),
        ),
      );
      for (const { m, cont } of grouped(msgs)) earlierList.append(messageEl(m, dir, ctx, { cont, contactName, earlier: true }));
    }
    earlierEl.hidden = withMessages.length === 0;
    requestAnimationFrame(() => messagesEl.removeAttribute("aria-busy"));
    if (focusMessage) scrollToFocus();
    else messagesEl.scrollTop = messagesEl.scrollHeight;
  }

  /** Scrolls to the message of a search result and marks it. */
  function scrollToFocus() {
    const el = messagesEl.querySelector(`#m${CSS.escape(focusMessage)}`);
    if (!el) return false;
    for (const old of messagesEl.querySelectorAll(".msg-focus")) old.classList.remove("msg-focus");
    el.classList.add("msg-focus");
    el.setAttribute("data-focused", "true");
    el.scrollIntoView({ block: "center" });
    return true;
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

  /** Moves the read mark to the newest message while the chat is in front of the person. */
  function markRead() {
    if (!messages.length || document.hidden) return;
    const last = String(messages[messages.length - 1].id);
    if (ctx.alerts) ctx.alerts.markRead(id);
    if (last === lastRead) return;
    lastRead = last;
    ctx.api
      .markConversationRead(id, last)
      .then(() => onRead && onRead(id))
      .catch(() => {});
  }

  // ---- the contact card -------------------------------------------------------------------

  const card = contactCard(ctx, () => conv, (c) => {
    if (conv && conv.contact && c && c.name !== undefined) conv.contact.name = c.name;
    renderHead();
    renderMessages();
  });

  function hasFiles(e) {
    return e.dataTransfer && [...(e.dataTransfer.types || [])].includes("Files");
  }
  function onDragOver(e) {
    if (!hasFiles(e) || replyInput.disabled) return;
    e.preventDefault();
    e.currentTarget.classList.add("dropping");
  }
  function onDragLeave(e) {
    if (!e.currentTarget.contains(e.relatedTarget)) e.currentTarget.classList.remove("dropping");
  }
  function onDrop(e) {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.currentTarget.classList.remove("dropping");
    const f = e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) chooseFile(f);
  }

  let first = true;
  async function refresh(force = false) {
    if (loading && !force) return;
    loading = true;
    try {
      const [c, msgs, events, d] = await Promise.all([
        ctx.api.conversation(id),
        ctx.api.messages(id).then(list),
        ctx.api.timeline(id).then(list).catch(() => null),
        ctx.directory(),
      ]);
      if (destroyed) return;
      conv = c;
      messages = msgs;
      dir = d;
      renderHead();
      renderMessages(first);
      if (events) renderTimeline(prepare(events));
      card.render(dir);
      pageError.textContent = "";
      if (first && focusMessage && !scrollToFocus()) {
        /* it may be in an earlier chat: loadEarlier scrolls there */
      }
      first = false;
      markRead();
      loadEarlier();
    } catch (err) {
      pageError.textContent = errorText(err);
    } finally {
      loading = false;
    }
  }

  const refreshSoon = debounce(refresh, 150);
  const phone = window.matchMedia ? window.matchMedia(PHONE).matches : false;
  const timelineBox = h(
    "details",
    { class: "side-section", testid: "timeline-section", open: !phone },
    h("summary", {}, h("h2", { id: uid("tl"), class: "side-title" }, t("timeline.title"))),
    timelineEl,
  );
  card.el.open = !phone;

  const el = h(
    "section",
    { class: "page chat", testid: "chat" },
    h(
      "header",
      { class: "chat-head" },
      h("a", { href: "#/inbox", class: "back", testid: "back-to-inbox" }, `← ${t("nav.inbox")}`),
      h("div", { class: "chat-headline" }, title, subtitle, h("div", { class: "chat-statusline" }, badges, labelsBox), windowState),
      h("div", { class: "chat-actions" }, assigneeLine, assignMe, transferBtn, leaveBtn, endChat, actionStatus),
    ),
    pageError,
    h(
      "div",
      { class: "chat-body" },
      h(
        "div",
        { class: "chat-main", testid: "chat-drop", onDragover: onDragOver, onDragleave: onDragLeave, onDrop: onDrop },
        h("div", { class: "drop-hint", "aria-hidden": "true" }, t("media.drop_here")),
        messagesEl,
        h("div", { class: "composer" }, h("div", { role: "tablist", class: "tabs", "aria-label": t("chat.composer") }, tabReply, tabNote), replyForm, noteForm),
      ),
      h("aside", { class: "chat-side", "aria-label": t("chat.side") }, card.el, timelineBox),
    ),
  );
  refresh();
  const windowTimer = setInterval(() => conv && dir && renderHead(), 30_000);
  const onVisible = () => !document.hidden && markRead();
  document.addEventListener("visibilitychange", onVisible);
  return {
    el,
    title: t("chat.title"),
    refresh,
    /** Another search result in the same chat. */
    focus(messageId) {
      focusMessage = messageId ? String(messageId) : "";
      if (focusMessage) scrollToFocus();
    },
    destroy: () => {
      destroyed = true;
      clearInterval(windowTimer);
      document.removeEventListener("visibilitychange", onVisible);
      qrPopup.close();
      mentionPopup.close();
    },
    onEvent(msg) {
      const d = msg.data || {};
      const cid = d.conversation_id ?? (msg.type === "conversation.updated" ? d.id : undefined) ?? (d.conversation && d.conversation.id);
      if (cid === undefined || String(cid) === String(id)) {
        if (msg.type === "message.created") focusMessage = "";
        // a status event carries the updated message (e.g. its file is now stored): redraw it now
        const updated = d.message && d.message.id !== undefined ? d.message : d.id !== undefined && d.conversation_id !== undefined ? d : null;
        if (msg.type === "message.status" && updated && messages.some((x) => String(x.id) === String(updated.id))) {
          messages = messages.map((x) => (String(x.id) === String(updated.id) ? { ...x, ...updated } : x));
          renderMessages();
        }
        refreshSoon();
      }
    },
  };
}

/**
 * The contact card: name (edited in place), address, note (edited), the labels of all their
 * chats and how many chats there were. Without the contacts API it shows what the
 * conversation carries and hides the editors.
 */
function contactCard(ctx, getConv, onSaved) {
  let contact = null;
  let loadedFor = null;
  let editingName = false;
  const body = h("div", { class: "contact-body" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite", testid: "contact-status" });
  const el = h("details", { class: "side-section contact-card", testid: "contact-card" }, h("summary", {}, h("h2", { class: "side-title" }, t("contact.title"))), body, status);

  async function load(force = false) {
    const conv = getConv();
    const cid = conv && conv.contact && conv.contact.id;
    if (!cid || (!force && loadedFor === String(cid))) return;
    loadedFor = String(cid);
    try {
      contact = await ctx.api.contact(cid);
    } catch {
      contact = null;
    }
    draw();
  }

  async function save(patch) {
    const conv = getConv();
    status.textContent = "";
    status.className = "status";
    try {
      const c = await ctx.api.updateContact(conv.contact.id, patch);
      contact = c && c.id ? c : { ...(contact || {}), ...patch };
      status.textContent = t("contact.saved");
      status.className = "status ok";
      editingName = false;
      draw();
      onSaved(contact);
      return true;
    } catch (err) {
      status.textContent = errorText(err);
      status.className = "status error";
      return false;
    }
  }

  function nameRow(c) {
    if (!editingName) {
      return h(
        "div",
        { class: "contact-name-row" },
        h("span", { class: "contact-card-name", testid: "contact-card-name" }, c.name || t("contact.no_name")),
        contact
          ? h(
              "button",
              {
                type: "button",
                class: "button small ghost",
                testid: "contact-edit-name",
                "aria-label": t("contact.edit_name"),
                onClick: () => {
                  editingName = true;
                  draw();
                  const input = body.querySelector("input");
                  if (input) input.focus();
                },
              },
              "✎ ",
              t("common.edit"),
            )
          : null,
      );
    }
    const input = h("input", { type: "text", testid: "contact-name-input", value: c.name || "", "aria-label": t("contact.name"), maxlength: 200 });
    const ok = h("button", { type: "submit", class: "button small primary", testid: "contact-name-save" }, t("common.save"));
    const cancel = h("button", { type: "button", class: "button small", onClick: () => ((editingName = false), draw()) }, t("common.cancel"));
    input.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        editingName = false;
        draw();
      }
    });
    return h(
      "form",
      {
        class: "contact-name-form",
        onSubmit: (e) => {
          e.preventDefault();
          const v = input.value.trim();
          save({ name: v || null });
        },
      },
      input,
      ok,
      cancel,
    );
  }

  function draw() {
    const conv = getConv();
    if (!conv) return;
    const c = { ...(conv.contact || {}), ...(contact || {}) };
    const items = [nameRow(c), h("dl", { class: "kv contact-kv" }, h("dt", {}, t("contact.address")), h("dd", { testid: "contact-card-address" }, c.address || "—"))];
    if (contact && Array.isArray(contact.labels) && contact.labels.length) {
      items.push(h("div", { class: "contact-labels" }, h("span", { class: "muted small" }, `${t("contact.labels")}: `), labelChips(contact.labels, { testid: "contact-label" })));
    }
    if (contact && contact.conversations_count !== undefined) {
      items.push(h("p", { class: "muted small", testid: "contact-chats-count" }, t("contact.chats_count", { n: contact.conversations_count })));
    }
    if (contact) {
      const note = h("textarea", { rows: 3, testid: "contact-note", id: uid("cn"), maxlength: 4096, placeholder: t("contact.note_placeholder") });
      note.value = contact.note || "";
      const saveNote = h("button", { type: "button", class: "button small", testid: "contact-note-save", onClick: () => save({ note: note.value.trim() ? note.value : null }) }, t("contact.save_note"));
      items.push(h("div", { class: "field contact-note" }, h("label", { for: note.id }, t("contact.note")), note, h("div", {}, saveNote)));
    }
    clear(body, items);
  }

  return {
    el,
    render() {
      const conv = getConv();
      if (!conv) return;
      if (!body.contains(document.activeElement)) draw();
      load();
    },
  };
}

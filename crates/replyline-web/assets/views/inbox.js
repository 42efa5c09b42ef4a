// Inbox: a split view (the list of chats | the open chat) on a laptop, one at a time on a
// phone. Rows show the contact, the last message, the caller's unread count, the status
// («в очереди» / «в работе» / «закрыт»), labels, the waiting timer and the SLA state; filters
// by scope, label and channel, a search box, cursor paging and live updates.
import { t } from "../i18n.js";
import { h, clear, fmtTime, tickTimers, errorText, fieldErrorText, field, statusLine, setStatus } from "../dom.js";
import { templateChooser } from "./wa_templates.js";
import { list } from "../api.js";
import { debounce } from "../live.js";
import * as chatView from "./chat.js";
import { desktopPermission, askDesktopPermission } from "../alerts.js";

const FILTERS = ["all", "mine", "unassigned", "team", "observing", "closed"];
const FILTER_KEY = "replyline.inboxFilter";
const PAGE = 50;

/** The SLA state of a conversation: the server's sla_state when present, else derived. */
export function slaState(c) {
  if (c.status === "closed") return "closed";
  if (c.sla_state) return c.sla_state;
  return c.waiting_since ? "waiting" : "answered";
}

export function slaBadge(c) {
  const s = slaState(c);
  return h("span", { class: `sla sla-${s}`, testid: "sla-badge", "data-state": s }, t(`sla.${s}`));
}

/** queued («в очереди»), in_progress («в работе») or closed: the server's, else derived. */
export function statusLabel(c) {
  if (c.status_label) return c.status_label;
  if (c.status === "closed") return "closed";
  return c.assignee_id ? "in_progress" : "queued";
}

export function statusChip(c, testid = "status-chip") {
  const s = statusLabel(c);
  return h("span", { class: `status-chip status-${s}`, testid, "data-status": s }, t(`conversation.status_label.${s}`));
}

/** Labels as small chips; with `onRemove` each has a remove button. */
export function labelChips(labels, { testid = "label", onRemove } = {}) {
  return h(
    "ul",
    { class: "label-chips" },
    (labels || []).map((l) =>
      h(
        "li",
        { class: "label-chip", testid, "data-label": l },
        h("span", {}, l),
        onRemove
          ? h(
              "button",
              { type: "button", class: "chip-remove", testid: `${testid}-remove`, "aria-label": t("picker.remove", { name: l }), title: t("picker.remove", { name: l }), onClick: () => onRemove(l) },
              "×",
            )
          : null,
      ),
    ),
  );
}

export function channelLabel(dir, c) {
  const ch = dir.chById.get(String(c.channel_id));
  const kind = (ch && ch.kind) || c.channel_kind || (c.channel && c.channel.kind) || "";
  const name = (ch && ch.name) || (c.channel && c.channel.name) || "";
  return { kind, name, text: name || (kind ? t(`channel.kind.${kind}`) : String(c.channel_id || "")) };
}

/** The list request of a filter. */
function paramsOf(filter, { label, channel, q }) {
  const p = { status: filter === "closed" ? "closed" : "open", limit: PAGE };
  if (filter !== "closed") p.scope = filter;
  if (label) p.label = label;
  if (channel) p.channel_id = channel;
  if (q) p.q = q;
  return p;
}

const MEDIA_TYPES = ["image", "sticker", "video", "audio", "voice", "document"];

/** A message's text for the list; a file or a location without a caption says what it is. */
function previewText(m) {
  const type = m.content_type || "";
  if (type === "location" || type === "contacts") return t(type === "location" ? "media.location" : "media.contact");
  if (m.text) return m.text;
  if (MEDIA_TYPES.includes(type)) return t(`media.kind.${type}`);
  return t("chat.no_text");
}

/** The last message as one line: "Вы: …" for the caller's replies, "Заметка: …" for notes. */
function preview(c, ctx) {
  const m = c.last_message;
  if (!m) return null;
  const text = String(previewText(m)).replace(/\s+/g, " ").slice(0, 140);
  let prefix = "";
  if (m.kind === "note") prefix = `${t("inbox.preview_note")}: `;
  else if (m.direction === "out" && m.kind === "employee") prefix = `${t("inbox.preview_employee")}: `;
  else if (m.direction === "out") prefix = `${t("chat.automatic")}: `;
  return h("span", { class: "last-message muted", testid: "last-message" }, prefix, text);
}

export function mount(ctx, params = {}) {
  let filter = sessionStorage.getItem(FILTER_KEY) || "all";
  if (!FILTERS.includes(filter)) filter = "all";
  const opts = { label: "", channel: "", q: "" };
  let rows = [];
  let next = "";
  let dir = null;
  let seq = 0;
  let chat = null;
  let chatId = "";

  const listEl = h("ul", { class: "inbox-list", "aria-labelledby": "inbox-title", testid: "inbox-list" });
  const counter = h("span", { class: "muted", testid: "inbox-count", "aria-live": "polite" });
  const error = h("p", { class: "form-error", role: "alert", testid: "inbox-error" });
  const more = h("button", { type: "button", class: "button wide", testid: "inbox-more", hidden: true, onClick: loadMore }, t("inbox.more"));

  const buttons = FILTERS.map((f) =>
    h(
      "button",
      {
        type: "button",
        class: "chip",
        testid: `filter-${f}`,
        "aria-pressed": String(f === filter),
        "data-filter": f,
        onClick: () => {
          filter = f;
          sessionStorage.setItem(FILTER_KEY, f);
          for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.filter === f));
          refresh();
        },
      },
      t(`inbox.filter.${f}`),
    ),
  );

  const labelSelect = h("select", { testid: "filter-label", class: "short", "aria-label": t("inbox.filter_label"), hidden: true });
  labelSelect.addEventListener("change", () => ((opts.label = labelSelect.value), refresh()));
  const channelSelect = h("select", { testid: "filter-channel", class: "short", "aria-label": t("inbox.filter_channel"), hidden: true });
  channelSelect.addEventListener("change", () => ((opts.channel = channelSelect.value), refresh()));
  const search = h("input", { type: "search", testid: "inbox-search", class: "inbox-search", placeholder: t("inbox.search_placeholder"), "aria-label": t("inbox.search"), autocomplete: "off" });
  const searchSoon = debounce(() => {
    opts.q = search.value.trim();
    refresh();
  }, 300);
  search.addEventListener("input", searchSoon);
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      opts.q = search.value.trim();
      refresh();
    }
  });
  const searchAll = h("a", { class: "small", testid: "inbox-search-messages", href: "#/search" }, t("inbox.search_messages"));
  search.addEventListener("input", () => searchAll.setAttribute("href", `#/search/${encodeURIComponent(search.value.trim())}`));

  let labelsAt = 0;
  /** The label and channel selects; the labels in use are asked for at most every 30 s. */
  async function fillSelects() {
    if (Date.now() - labelsAt < 30_000) return;
    labelsAt = Date.now();
    try {
      const labels = list(await ctx.api.labels()).map(String);
      const keep = labelSelect.value;
      clear(labelSelect, h("option", { value: "" }, t("inbox.any_label")), labels.map((l) => h("option", { value: l }, l)));
      labelSelect.value = labels.includes(keep) ? keep : "";
      labelSelect.hidden = labels.length === 0 && !keep;
    } catch {
      labelSelect.hidden = true;
    }
    if (dir && !channelSelect.options.length) {
      clear(channelSelect, h("option", { value: "" }, t("inbox.any_channel")), dir.channels.map((c) => h("option", { value: String(c.id) }, c.name || c.id)));
    }
    channelSelect.hidden = !dir || dir.channels.length < 2;
  }

  async function fetchPage(before, limit) {
    const p = paramsOf(filter, opts);
    if (limit) p.limit = limit;
    if (before) p.before = before;
    return ctx.api.conversationsPage(p);
  }

  /** Reloads from the first page, as many rows as are shown (live updates, filters). */
  async function refresh() {
    const my = ++seq;
    try {
      const limit = Math.min(200, Math.max(PAGE, rows.length));
      const [page, d] = await Promise.all([fetchPage("", limit), ctx.directory()]);
      if (my !== seq) return;
      dir = d;
      rows = page.items;
      next = page.next;
      render();
      error.textContent = "";
      fillSelects();
    } catch (e) {
      if (my === seq) error.textContent = errorText(e);
    }
  }

  async function loadMore() {
    if (!next) return;
    const my = ++seq;
    more.disabled = true;
    try {
      const page = await fetchPage(next);
      if (my !== seq) return;
      const have = new Set(rows.map((r) => String(r.id)));
      rows = rows.concat(page.items.filter((r) => !have.has(String(r.id))));
      next = page.next;
      render();
    } catch (e) {
      error.textContent = errorText(e);
    } finally {
      more.disabled = false;
    }
  }

  function rowEl(c) {
    const contact = c.contact || {};
    const ch = channelLabel(dir, c);
    const assignee = c.assignee_id ? dir.empById.get(String(c.assignee_id)) : null;
    const waiting = c.status !== "closed" && c.waiting_since;
    const unread = Number(c.unread) || 0;
    const current = String(c.id) === chatId;
    return h(
      "a",
      {
        class: `inbox-row${waiting ? " is-waiting" : ""}${unread ? " is-unread" : ""}${current ? " is-current" : ""}`,
        href: `#/chat/${encodeURIComponent(c.id)}`,
        testid: "inbox-row",
        "data-conversation-id": String(c.id),
        "aria-current": current ? "true" : false,
      },
      h(
        "div",
        { class: "row-main" },
        h(
          "div",
          { class: "row-title" },
          h("span", { class: "contact-name", testid: "contact-name" }, contact.name || contact.address || t("chat.unknown_contact")),
          unread ? h("span", { class: "badge unread", testid: "unread-count", "aria-label": t("inbox.unread", { n: unread }) }, String(unread)) : null,
          c.last_message_at ? h("time", { class: "muted row-time", datetime: c.last_message_at, title: t("inbox.last_message") }, fmtTime(c.last_message_at)) : null,
        ),
        preview(c, ctx) || (contact.name && contact.address ? h("span", { class: "contact-address muted" }, contact.address) : null),
      ),
      h(
        "div",
        { class: "row-meta" },
        statusChip(c),
        h("span", { class: `channel channel-${ch.kind}`, testid: "channel" }, ch.text),
        h("span", { class: "assignee", testid: "assignee" }, assignee ? ctx.employeeName(assignee) : c.assignee_id ? String(c.assignee_id) : t("inbox.unassigned")),
        Array.isArray(c.labels) && c.labels.length ? labelChips(c.labels, { testid: "row-label" }) : null,
      ),
      h(
        "div",
        { class: "row-sla" },
        waiting
          ? h(
              "span",
              { class: "timer-wrap", title: t("inbox.waiting") },
              h("span", { class: "sr-only" }, `${t("inbox.waiting")}: `),
              h("span", { class: "timer", testid: "waiting-timer", "data-since": c.waiting_since }),
            )
          : null,
        c.status === "closed" ? null : slaBadge(c),
      ),
    );
  }

  function render() {
    const focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.conversationId : null;
    clear(listEl);
    counter.textContent = t(next ? "inbox.count_more" : "inbox.count", { n: rows.length });
    more.hidden = !next;
    if (rows.length === 0) {
      listEl.append(h("li", { class: "empty", testid: "inbox-empty" }, t(filter === "closed" ? "inbox.empty_closed" : "inbox.empty")));
      return;
    }
    for (const c of rows) listEl.append(h("li", {}, rowEl(c)));
    tickTimers(listEl);
    if (focusedId) {
      const again = listEl.querySelector(`[data-conversation-id="${CSS.escape(focusedId)}"]`);
      if (again) again.focus();
    }
  }

  // ---- the chat pane ----------------------------------------------------------------------
  const placeholder = h("div", { class: "chat-placeholder muted", testid: "chat-placeholder" }, t("inbox.choose_chat"));
  const pane = h("div", { class: "split-chat" }, placeholder);
  const refreshSoon = debounce(refresh, 200);

  function openChat({ chat: id, message } = {}) {
    const want = id ? String(id) : "";
    if (want && want === chatId && chat) {
      if (message && chat.focus) chat.focus(message);
      return;
    }
    if (chat && chat.destroy) chat.destroy();
    chat = null;
    chatId = want;
    el.classList.toggle("has-chat", !!want);
    if (!want) {
      pane.replaceChildren(placeholder);
    } else {
      chat = chatView.mount(ctx, { id: want, message, onRead: () => refreshSoon() });
      pane.replaceChildren(chat.el);
    }
    for (const a of listEl.querySelectorAll("[data-conversation-id]")) {
      const on = a.dataset.conversationId === chatId;
      a.classList.toggle("is-current", on);
      if (on) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    }
  }

  // ---- tools: the demo customer, desktop notifications ------------------------------------
  const tools = h("div", { class: "inbox-tools" });
  const toolStatus = statusLine("inbox-tool-status");
  async function setupTools() {
    if (desktopPermission() === "default") {
      const ask = h(
        "button",
        {
          type: "button",
          class: "button small",
          testid: "alerts-enable-desktop",
          onClick: async () => {
            const r = await askDesktopPermission();
            ask.hidden = r !== "default";
            setStatus(toolStatus, r === "granted" ? t("alerts.desktop_on") : r === "denied" ? t("alerts.desktop_denied") : "", r === "granted" ? "ok" : "");
          },
        },
        t("alerts.enable_desktop"),
      );
      tools.append(ask);
    }
    try {
      await ctx.api.demo();
    } catch {
      return; // not a demo server
    }
    const demo = h(
      "button",
      {
        type: "button",
        class: "button small",
        testid: "demo-customer-message",
        onClick: async () => {
          demo.disabled = true;
          try {
            await ctx.api.demoCustomerMessage();
            setStatus(toolStatus, t("demo.sent"), "ok");
            refreshSoon();
          } catch (e) {
            setStatus(toolStatus, errorText(e), "error");
          } finally {
            demo.disabled = false;
          }
        },
      },
      t("demo.customer_writes"),
    );
    tools.append(demo);
  }

  const newChat = newChatForm(ctx);
  const listPane = h(
    "div",
    { class: "split-list" },
    h("div", { class: "page-head" }, h("h1", { id: "inbox-title" }, t("inbox.title")), counter),
    tools,
    toolStatus,
    h("div", { class: "toolbar", role: "group", "aria-label": t("inbox.filters") }, buttons),
    h("div", { class: "toolbar inbox-filters" }, search, labelSelect, channelSelect, searchAll),
    error,
    listEl,
    more,
    newChat,
  );
  const el = h("section", { class: "page inbox-split", testid: "inbox" }, listPane, pane);
  openChat(params);
  refresh();
  setupTools();
  return {
    el,
    wide: true,
    title: t("inbox.title"),
    refresh() {
      refresh();
      if (chat) chat.refresh();
    },
    update(p) {
      openChat(p || {});
    },
    /** Whether the chat `id` is open in front of the person (no alert for it then). */
    viewing(id) {
      return !!chat && String(id) === chatId && !document.hidden;
    },
    destroy() {
      if (chat && chat.destroy) chat.destroy();
    },
    onEvent(msg) {
      if (chat && chat.onEvent) chat.onEvent(msg);
      if (["conversation.updated", "message.created", "message.status"].includes(msg.type)) refreshSoon();
    },
  };
}

/** Digits of a phone number typed in E.164 (+, spaces, dashes, brackets ignored), or "" if it is not one. */
export function e164Digits(raw) {
  const s = String(raw || "").trim();
  if (!/^\+?[\d\s\-()]+$/.test(s)) return "";
  const digits = s.replace(/\D/g, "");
  return digits.length >= 8 && digits.length <= 15 && digits[0] !== "0" ? digits : "";
}

/**
 * «Написать первым»: POST /conversations opens an employee-initiated chat on a channel that
 * allows it (`allow_write_first`), with a text or an approved WhatsApp template. Hidden when no
 * channel the person sees allows it.
 */
function newChatForm(ctx) {
  const channel = h("select", { testid: "new-chat-channel" });
  const address = h("input", { type: "text", testid: "new-chat-address", autocomplete: "off", inputmode: "tel", placeholder: "+7 916 123-45-67" });
  const text = h("textarea", { rows: 3, testid: "new-chat-text" });
  const status = statusLine("new-chat-status");
  const modeText = h("input", { type: "radio", name: uidName(), value: "text", checked: true, testid: "new-chat-mode-text" });
  const modeTemplate = h("input", { type: "radio", name: modeText.name, value: "template", testid: "new-chat-mode-template" });
  let chooser = null;
  const templateBox = h("div", { class: "new-chat-template", hidden: true });
  const addressField = field(t("inbox.new_chat_address"), address, { hint: t("inbox.new_chat_address_hint"), testid: "new-chat-address" });
  const textField = field(t("inbox.new_chat_text"), text, { testid: "new-chat-text" });

  function setMode() {
    const tpl = modeTemplate.checked;
    textField.hidden = tpl;
    templateBox.hidden = !tpl;
    if (tpl && !chooser) {
      chooser = templateChooser(ctx, channel.value, { testid: "new-chat-template" });
      templateBox.append(chooser.el);
      chooser.load();
    }
  }
  modeText.addEventListener("change", setMode);
  modeTemplate.addEventListener("change", setMode);
  channel.addEventListener("change", () => chooser && chooser.setChannel(channel.value));

  const details = h(
    "details",
    { class: "card new-chat", testid: "new-chat-box", hidden: true },
    h("summary", { testid: "new-chat" }, t("inbox.new_chat")),
    h(
      "form",
      {
        novalidate: true,
        onSubmit: async (e) => {
          e.preventDefault();
          setStatus(status, "");
          addressField.error("");
          textField.error("");
          if (!channel.value) {
            setStatus(status, t("inbox.new_chat_fill"), "error");
            return;
          }
          if (!e164Digits(address.value)) {
            addressField.error(t("inbox.new_chat_e164"));
            address.focus();
            return;
          }
          const body = { channel_id: channel.value, contact_address: address.value.trim() };
          if (modeTemplate.checked) {
            const v = chooser.value();
            if (v.error) return;
            body.template = v.template;
          } else {
            if (!text.value.trim()) {
              textField.error(t("common.required"));
              text.focus();
              return;
            }
            body.text = text.value;
          }
          try {
            const conv = await ctx.api.openConversation(body);
            if (conv && conv.id) ctx.navigate(`/chat/${encodeURIComponent(conv.id)}`);
          } catch (err) {
            if (err.field === "contact_address") addressField.error(fieldErrorText(err));
            else if (err.field === "text") textField.error(fieldErrorText(err));
            else if (chooser && modeTemplate.checked && chooser.showError(err)) {
              /* shown at the template */
            }
            if (err.code === "outside_24h_window") setStatus(status, t("inbox.new_chat_needs_template"), "error");
            else setStatus(status, errorText(err), "error");
          }
        },
      },
      h("p", { class: "hint" }, t("inbox.new_chat_hint")),
      field(t("inbox.new_chat_channel"), channel, { testid: "new-chat-channel" }),
      addressField,
      h(
        "fieldset",
        { class: "radio-row" },
        h("legend", {}, t("inbox.new_chat_what")),
        h("label", {}, modeText, " ", t("inbox.new_chat_mode_text")),
        h("label", {}, modeTemplate, " ", t("inbox.new_chat_mode_template")),
      ),
      textField,
      templateBox,
      h("button", { type: "submit", class: "button primary", testid: "new-chat-submit" }, t("inbox.new_chat_submit")),
      status,
    ),
  );
  ctx
    .directory()
    .then((dir) => {
      const allowed = dir.channels.filter((c) => c.allow_write_first === true);
      clear(channel, allowed.map((c) => h("option", { value: String(c.id) }, c.name || c.id)));
      details.hidden = allowed.length === 0;
    })
    .catch(() => {});
  return details;
}

let radioCounter = 0;
function uidName() {
  radioCounter += 1;
  return `new-chat-mode-${radioCounter}`;
}

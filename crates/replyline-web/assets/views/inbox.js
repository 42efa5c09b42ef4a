// Inbox: open chats sorted by the longest wait, with a live waiting timer and the SLA state.
import { t } from "../i18n.js";
import { h, clear, fmtTime, tickTimers, parseTime, errorText, field, statusLine, setStatus } from "../dom.js";
import { list } from "../api.js";

const FILTERS = ["all", "mine", "unassigned", "team", "closed"];
const FILTER_KEY = "replyline.inboxFilter";

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

export function channelLabel(dir, c) {
  const ch = dir.chById.get(String(c.channel_id));
  const kind = (ch && ch.kind) || c.channel_kind || (c.channel && c.channel.kind) || "";
  const name = (ch && ch.name) || (c.channel && c.channel.name) || "";
  return { kind, name, text: name || (kind ? t(`channel.kind.${kind}`) : String(c.channel_id || "")) };
}

/** Ids of the employees whose chain of managers leads to `me` (and `me`). */
function teamOf(me, employees) {
  const byId = new Map(employees.map((e) => [String(e.id), e]));
  const team = new Set([String(me.id)]);
  for (const e of employees) {
    let cur = e;
    const seen = new Set();
    while (cur && cur.manager_id && !seen.has(String(cur.id))) {
      seen.add(String(cur.id));
      if (String(cur.manager_id) === String(me.id)) {
        team.add(String(e.id));
        break;
      }
      cur = byId.get(String(cur.manager_id));
    }
  }
  return team;
}

function byWaiting(a, b) {
  const wa = parseTime(a.waiting_since);
  const wb = parseTime(b.waiting_since);
  if (wa && wb) return wa - wb;
  if (wa) return -1;
  if (wb) return 1;
  return (parseTime(b.last_message_at) || 0) - (parseTime(a.last_message_at) || 0);
}

export function mount(ctx) {
  let filter = sessionStorage.getItem(FILTER_KEY) || "all";
  if (!FILTERS.includes(filter)) filter = "all";
  const listEl = h("ul", { class: "inbox-list", "aria-labelledby": "inbox-title", testid: "inbox-list" });
  const counter = h("span", { class: "muted", testid: "inbox-count", "aria-live": "polite" });
  const error = h("p", { class: "form-error", role: "alert" });
  let loading = false;
  let seq = 0;

  const buttons = FILTERS.map((f) =>
    h(
      "button",
      {
        type: "button",
        class: "chip",
        testid: `filter-${f}`,
        "aria-pressed": String(f === filter),
        onClick: () => {
          filter = f;
          sessionStorage.setItem(FILTER_KEY, f);
          for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.filter === f));
          refresh();
        },
        "data-filter": f,
      },
      t(`inbox.filter.${f}`),
    ),
  );

  async function refresh() {
    if (loading) return;
    loading = true;
    const my = ++seq;
    try {
      const status = filter === "closed" ? "closed" : "open";
      const params = { status };
      if (filter === "mine") params.assignee_id = ctx.me.id;
      const [convs, dir] = await Promise.all([ctx.api.conversations(params).then(list), ctx.directory()]);
      if (my !== seq) return;
      let rows = convs.filter((c) => (status === "closed" ? c.status === "closed" || !c.status : c.status !== "closed"));
      if (filter === "mine") rows = rows.filter((c) => String(c.assignee_id) === String(ctx.me.id));
      if (filter === "unassigned") rows = rows.filter((c) => !c.assignee_id);
      if (filter === "team") {
        const team = teamOf(ctx.me, dir.employees);
        rows = rows.filter((c) => c.assignee_id && team.has(String(c.assignee_id)));
      }
      if (status === "closed") rows.sort((a, b) => (parseTime(b.closed_at) || 0) - (parseTime(a.closed_at) || 0));
      else rows.sort(byWaiting);
      render(rows, dir);
      error.textContent = "";
    } catch (e) {
      error.textContent = errorText(e);
    } finally {
      loading = false;
    }
  }

  function render(rows, dir) {
    const focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.conversationId : null;
    clear(listEl);
    counter.textContent = t("inbox.count", { n: rows.length });
    if (rows.length === 0) {
      listEl.append(h("li", { class: "empty", testid: "inbox-empty" }, t(filter === "closed" ? "inbox.empty_closed" : "inbox.empty")));
      return;
    }
    for (const c of rows) {
      const contact = c.contact || {};
      const ch = channelLabel(dir, c);
      const assignee = c.assignee_id ? dir.empById.get(String(c.assignee_id)) : null;
      const waiting = c.status !== "closed" && c.waiting_since;
      const row = h(
        "a",
        {
          class: `inbox-row ${waiting ? "is-waiting" : ""}`,
          href: `#/chat/${encodeURIComponent(c.id)}`,
          testid: "inbox-row",
          "data-conversation-id": String(c.id),
        },
        h(
          "div",
          { class: "row-main" },
          h("span", { class: "contact-name", testid: "contact-name" }, contact.name || contact.address || t("chat.unknown_contact")),
          contact.name && contact.address ? h("span", { class: "contact-address muted" }, contact.address) : null,
        ),
        h(
          "div",
          { class: "row-meta" },
          h("span", { class: `channel channel-${ch.kind}`, testid: "channel" }, ch.text),
          h(
            "span",
            { class: "assignee", testid: "assignee" },
            assignee ? ctx.employeeName(assignee) : c.assignee_id ? String(c.assignee_id) : t("inbox.unassigned"),
          ),
          c.last_message_at
            ? h("time", { class: "muted", datetime: c.last_message_at, title: t("inbox.last_message") }, fmtTime(c.last_message_at))
            : null,
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
          slaBadge(c),
        ),
      );
      listEl.append(h("li", {}, row));
    }
    tickTimers(listEl);
    if (focusedId) {
      const again = listEl.querySelector(`[data-conversation-id="${CSS.escape(focusedId)}"]`);
      if (again) again.focus();
    }
  }

  const newChat = newChatForm(ctx);
  const el = h(
    "section",
    { class: "page" },
    h("div", { class: "page-head" }, h("h1", { id: "inbox-title" }, t("inbox.title")), counter),
    h("div", { class: "toolbar", role: "group", "aria-label": t("inbox.filters") }, buttons),
    error,
    listEl,
    newChat,
  );
  refresh();
  return {
    el,
    title: t("inbox.title"),
    refresh,
    onEvent: (msg) => {
      if (["conversation.updated", "message.created", "message.status"].includes(msg.type)) refresh();
    },
  };
}

/** "Write first": POST /conversations opens an employee-initiated chat. */
function newChatForm(ctx) {
  const channel = h("select", { testid: "new-chat-channel" });
  const address = h("input", { type: "text", testid: "new-chat-address", autocomplete: "off", inputmode: "tel" });
  const text = h("textarea", { rows: 3, testid: "new-chat-text" });
  const status = statusLine("new-chat-status");
  const details = h(
    "details",
    {
      class: "card new-chat",
      onToggle: async () => {
        if (!details.open || channel.options.length) return;
        const dir = await ctx.directory();
        for (const c of dir.channels) channel.append(h("option", { value: String(c.id) }, c.name || c.id));
      },
    },
    h("summary", { testid: "new-chat" }, t("inbox.new_chat")),
    h(
      "form",
      {
        onSubmit: async (e) => {
          e.preventDefault();
          if (!channel.value || !address.value.trim() || !text.value.trim()) {
            setStatus(status, t("inbox.new_chat_fill"), "error");
            return;
          }
          try {
            const conv = await ctx.api.openConversation({
              channel_id: channel.value,
              contact_address: address.value.trim(),
              text: text.value,
            });
            if (conv && conv.id) ctx.navigate(`/chat/${encodeURIComponent(conv.id)}`);
          } catch (err) {
            setStatus(status, errorText(err), "error");
          }
        },
      },
      field(t("inbox.new_chat_channel"), channel),
      field(t("inbox.new_chat_address"), address, { hint: t("inbox.new_chat_address_hint") }),
      field(t("inbox.new_chat_text"), text),
      h("button", { type: "submit", class: "button primary", testid: "new-chat-submit" }, t("inbox.new_chat_submit")),
      status,
    ),
  );
  return details;
}

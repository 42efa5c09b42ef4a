// Notifications of the caller: the rule's notification text («Текст уведомления») as the title,
// why, which chat, how long the client waited; mark as read.
import { t, has } from "../i18n.js";
import { h, clear, fmtDateTime, fmtSeconds, parseTime, errorText } from "../dom.js";
import { list } from "../api.js";

export function mount(ctx) {
  let unreadOnly = false;
  let loading = false;
  const convCache = new Map();
  const listEl = h("ul", { class: "notif-list", testid: "notification-list", "aria-labelledby": "notif-title" });
  const error = h("p", { class: "form-error", role: "alert" });
  const onlyUnread = h("input", {
    type: "checkbox",
    id: "notif-unread",
    testid: "notifications-unread-only",
    onChange: () => {
      unreadOnly = onlyUnread.checked;
      refresh();
    },
  });
  const readAll = h("button", { type: "button", class: "button", testid: "notifications-read-all", onClick: markAll }, t("notifications.read_all"));
  let current = [];

  async function conversation(id) {
    if (!id) return null;
    if (!convCache.has(id)) convCache.set(id, ctx.api.conversation(id).catch(() => null));
    return convCache.get(id);
  }

  async function markRead(n) {
    try {
      await ctx.api.markRead(n.id);
      n.read_at = n.read_at || new Date().toISOString();
    } catch (err) {
      error.textContent = errorText(err);
    }
    ctx.refreshBell();
  }

  async function markAll() {
    await Promise.all(current.filter((n) => !n.read_at).map((n) => ctx.api.markRead(n.id).catch(() => null)));
    ctx.refreshBell();
    refresh();
  }

  async function refresh() {
    if (loading) return;
    loading = true;
    try {
      const [items, dir] = await Promise.all([
        ctx.api.notifications(unreadOnly ? { unread: true } : {}).then(list),
        ctx.directory(),
      ]);
      items.sort((a, b) => (parseTime(b.created_at) || 0) - (parseTime(a.created_at) || 0));
      current = unreadOnly ? items.filter((n) => !n.read_at) : items;
      const convs = await Promise.all(current.map((n) => conversation(n.conversation_id)));
      render(current, convs, dir);
      error.textContent = "";
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      loading = false;
    }
  }

  function render(items, convs, dir) {
    clear(listEl);
    readAll.disabled = !items.some((n) => !n.read_at);
    if (!items.length) {
      listEl.append(h("li", { class: "empty", testid: "notifications-empty" }, t("notifications.empty")));
      return;
    }
    items.forEach((n, i) => {
      const conv = convs[i];
      const contact = (conv && conv.contact) || {};
      const employee = n.employee_id ? dir.empById.get(String(n.employee_id)) : null;
      const reasonKey = `notification.reason.${n.reason}`;
      const started = parseTime(n.wait_started_at);
      const created = parseTime(n.created_at);
      const waited = Number.isFinite(n.waited_seconds) ? fmtSeconds(n.waited_seconds) : started && created ? fmtSeconds((created - started) / 1000) : "";
      const href = n.conversation_id ? `#/chat/${encodeURIComponent(n.conversation_id)}` : null;
      const unread = !n.read_at;
      const deliveries = Array.isArray(n.deliveries) ? n.deliveries : [];
      const reason = has(reasonKey) ? t(reasonKey) : n.reason;
      const text = typeof n.text === "string" && n.text.trim() ? n.text : "";
      const item = h(
        "li",
        { class: `notif ${unread ? "unread" : ""}`, testid: "notification-item", "data-notification-id": String(n.id), "data-read": String(!unread) },
        h(
          "div",
          { class: "notif-main" },
          h(
            "a",
            {
              href,
              class: "notif-link",
              testid: "notification-open",
              onClick: () => {
                if (unread) markRead(n);
              },
            },
            unread ? h("span", { class: "sr-only" }, `${t("notifications.unread")}: `) : null,
            h("span", { class: text ? "notif-text" : "", testid: text ? "notification-text" : "notification-reason" }, text || reason),
          ),
          text ? h("div", { class: "notif-reason muted small", testid: "notification-reason" }, reason) : null,
          h(
            "div",
            { class: "notif-meta muted" },
            h("span", {}, `${t("notifications.client")}: ${contact.name || contact.address || n.conversation_id || "—"}`),
            h("span", {}, `${t("notifications.employee")}: ${employee ? ctx.employeeName(employee) : n.employee_id || t("inbox.unassigned")}`),
            started ? h("span", {}, `${t("notifications.wait_started")}: ${fmtDateTime(n.wait_started_at)}${waited ? ` (${waited})` : ""}`) : null,
            h("time", { datetime: n.created_at }, fmtDateTime(n.created_at)),
          ),
          deliveries.length
            ? h(
                "div",
                { class: "notif-deliveries muted" },
                deliveries.map((d) =>
                  h("span", { class: `delivery delivery-${d.status || ""}` }, `${deliveryChannel(d.channel || d.kind || "")}: ${d.status ? (has(`delivery.${d.status}`) ? t(`delivery.${d.status}`) : d.status) : ""}${d.error ? ` (${d.error})` : ""}`),
                ),
              )
            : null,
        ),
        unread
          ? h(
              "button",
              {
                type: "button",
                class: "button small",
                testid: "notification-read",
                onClick: async () => {
                  await markRead(n);
                  refresh();
                },
              },
              t("notifications.mark_read"),
            )
          : h("span", { class: "muted small" }, t("notifications.read")),
      );
      listEl.append(item);
    });
  }

  const el = h(
    "section",
    { class: "page" },
    h("div", { class: "page-head" }, h("h1", { id: "notif-title" }, t("notifications.title"))),
    h("div", { class: "toolbar" }, h("div", { class: "field field-inline" }, onlyUnread, h("label", { for: "notif-unread" }, t("notifications.unread_only"))), readAll),
    error,
    listEl,
  );
  refresh();
  return {
    el,
    title: t("notifications.title"),
    refresh,
    onEvent: (msg) => {
      if (msg.type === "notification.created") refresh();
    },
  };
}

/** "in_app" → "В приложении", "email" → "E-mail"…; unknown names as they are. */
function deliveryChannel(name) {
  return has(`delivery.channel.${name}`) ? t(`delivery.channel.${name}`) : name;
}

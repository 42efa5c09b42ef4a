// "Звонки и сообщения" (Calls and messages): cards for the messenger settings, the channels and the
// change log; its "Настройки мессенджера" page: the channel chooser, then the team-wide entries
// «Правила маршрутизации сообщений» and «Группы пользователей».
import { t } from "../i18n.js";
import { h, clear, errorText } from "../dom.js";
import { list } from "../api.js";
import { lastWebhook } from "./channels.js";

export function mount(ctx, { page }) {
  return page === "hub" ? hub() : chooser(ctx);
}

function hub() {
  const el = h(
    "section",
    { class: "page" },
    h("div", { class: "page-head" }, h("h1", {}, t("calls.title"))),
    h(
      "ul",
      { class: "cards" },
      h(
        "li",
        {},
        h(
          "a",
          { class: "card card-link", href: "#/calls/messenger", testid: "messenger-settings" },
          h("span", { class: "card-title" }, t("calls.messenger_settings")),
          h("span", { class: "muted" }, t("calls.messenger_settings_hint")),
        ),
      ),
      h(
        "li",
        {},
        h(
          "a",
          { class: "card card-link", href: "#/admin/channels", testid: "calls-channels" },
          h("span", { class: "card-title" }, t("calls.channels")),
          h("span", { class: "muted" }, t("calls.channels_hint")),
        ),
      ),
      h(
        "li",
        {},
        h(
          "a",
          { class: "card card-link", href: "#/admin/audit", testid: "calls-audit" },
          h("span", { class: "card-title" }, t("audit.title")),
          h("span", { class: "muted" }, t("audit.hint")),
        ),
      ),
    ),
  );
  return { el, title: t("calls.title") };
}

function chooser(ctx) {
  const listEl = h("ul", { class: "cards", testid: "settings-channel-list" });
  const error = h("p", { class: "form-error", role: "alert" });
  async function refresh() {
    try {
      const channels = await ctx.api.channels().then(list);
      clear(listEl);
      if (!channels.length) {
        listEl.append(h("li", { class: "empty" }, t("settings.no_channels"), " ", h("a", { href: "#/admin/channels" }, t("channels.connect_whatsapp"))));
      }
      for (const ch of channels) {
        listEl.append(
          h(
            "li",
            {},
            h(
              "a",
              { class: "card card-link", href: `#/calls/messenger/${encodeURIComponent(ch.id)}`, testid: "settings-channel", "data-channel-id": String(ch.id) },
              h("span", { class: "card-title" }, ch.name || ch.id),
              h("span", { class: "muted" }, t(`channel.kind.${ch.kind}`)),
              h("span", { class: "muted small" }, `${t("channels.last_webhook_at")}: ${lastWebhook(ch)}`),
            ),
          ),
        );
      }
      error.textContent = "";
    } catch (err) {
      error.textContent = errorText(err);
    }
  }
  const el = h(
    "section",
    { class: "page" },
    h("nav", { class: "breadcrumbs", "aria-label": t("nav.breadcrumbs") }, h("a", { href: "#/calls" }, t("calls.title")), " › "),
    h("div", { class: "page-head" }, h("h1", {}, t("calls.messenger_settings"))),
    h("p", { class: "muted" }, t("settings.choose_channel")),
    error,
    listEl,
    h("h2", { class: "section-title" }, t("calls.team_settings")),
    h(
      "ul",
      { class: "cards", testid: "messenger-team-settings" },
      h(
        "li",
        {},
        h(
          "a",
          { class: "card card-link", href: "#/calls/messenger/routing", testid: "routing-rules-link" },
          h("span", { class: "card-title" }, t("routing.title")),
          h("span", { class: "muted" }, t("routing.link_hint")),
        ),
      ),
      h(
        "li",
        {},
        h(
          "a",
          { class: "card card-link", href: "#/calls/messenger/groups", testid: "groups-link" },
          h("span", { class: "card-title" }, t("groups.title")),
          h("span", { class: "muted" }, t("groups.link_hint")),
        ),
      ),
    ),
  );
  refresh();
  return { el, title: t("calls.messenger_settings") };
}

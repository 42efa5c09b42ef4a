// Channel health banners above every page (docs/whatsapp.md «Failures a person can see»): one
// for each visible channel whose sends are failing (`failing_since`) or that is halted (`status`
// ≠ active): «Канал «X» не отправляет сообщения с 14:02: …». Admins get a link to the channel's
// page. Redrawn on a live `channel.updated` event and every 30 s.
import { t } from "./i18n.js";
import { h, clear, fmtClock } from "./dom.js";
import { list } from "./api.js";
import { providerErrorText } from "./errors.js";

const EVERY_MS = 30_000;

/** The banner text of a channel, or "" when it sends normally. */
export function healthText(ch) {
  const name = ch.name || ch.id;
  if (ch.failing_since) {
    const when = fmtClock(ch.failing_since);
    const reason = providerErrorText(ch.failing_error || ch.status_reason || "") || t("health.unknown_error");
    return t("health.failing", { name, since: when, error: reason });
  }
  if (ch.status && ch.status !== "active") {
    const key = `channel.status.${ch.status}`;
    return t("health.halted", { name, state: t(key) === key ? ch.status : t(key) });
  }
  return "";
}

export class HealthBanners {
  constructor(ctx, el) {
    this.ctx = ctx;
    this.el = el;
    this.timer = null;
    this.channels = [];
  }

  start() {
    this.load();
    this.timer = setInterval(() => this.load(), EVERY_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.channels = [];
    this.render();
  }

  onEvent(msg) {
    if (msg.type !== "channel.updated") return;
    const d = msg.data || {};
    const ch = d.channel || d;
    if (ch && ch.id !== undefined && ch.name !== undefined) {
      const i = this.channels.findIndex((c) => String(c.id) === String(ch.id));
      if (i >= 0) this.channels[i] = { ...this.channels[i], ...ch };
      else this.channels.push(ch);
      this.render();
    }
    this.load();
  }

  async load() {
    try {
      this.channels = list(await this.ctx.api.channels());
    } catch {
      return;
    }
    this.render();
  }

  render() {
    const rows = this.channels
      .map((ch) => ({ ch, text: healthText(ch) }))
      .filter((r) => r.text)
      .map(({ ch, text }) =>
        h(
          "div",
          { class: "health-banner", role: "alert", testid: "channel-health", "data-channel-id": String(ch.id) },
          h("span", { "aria-hidden": "true" }, "⚠ "),
          h("span", { testid: "channel-health-text" }, text),
          this.ctx.isAdmin() ? h("a", { href: `#/admin/channels/${encodeURIComponent(ch.id)}`, class: "health-link", testid: "channel-health-link" }, t("health.open_channel")) : null,
        ),
      );
    clear(this.el, rows);
    this.el.hidden = rows.length === 0;
  }
}

// Admin: channels, and the form that connects a WhatsApp Business number.
import { t } from "../i18n.js";
import { h, clear, field, fmtDateTime, errorText, statusLine, setStatus } from "../dom.js";
import { list } from "../api.js";

/** The webhook URL with a copy button. */
export function webhookBox(url) {
  if (!url) return h("span", { class: "muted" }, "—");
  const code = h("code", { class: "webhook-url", testid: "webhook-url" }, url);
  const copied = h("span", { class: "muted small", role: "status" });
  return h(
    "span",
    { class: "copy-box" },
    code,
    h(
      "button",
      {
        type: "button",
        class: "button small",
        testid: "copy-webhook-url",
        onClick: async () => {
          try {
            await navigator.clipboard.writeText(url);
            copied.textContent = t("common.copied");
          } catch {
            const range = document.createRange();
            range.selectNodeContents(code);
            const sel = window.getSelection();
            sel.removeAllRanges();
            sel.addRange(range);
            copied.textContent = t("common.copy_manually");
          }
        },
      },
      t("common.copy"),
    ),
    copied,
  );
}

export function lastWebhook(ch) {
  return ch.last_webhook_at ? fmtDateTime(ch.last_webhook_at) : t("channels.no_webhook_yet");
}

export function mount(ctx) {
  const tbody = h("tbody", {});
  const error = h("p", { class: "form-error", role: "alert" });

  async function refresh() {
    try {
      const channels = await ctx.api.channels().then(list);
      render(channels);
      error.textContent = "";
    } catch (err) {
      error.textContent = errorText(err);
    }
  }

  function render(channels) {
    clear(tbody);
    if (!channels.length) {
      tbody.append(h("tr", {}, h("td", { colspan: 5, class: "empty" }, t("channels.empty"))));
      return;
    }
    for (const ch of channels) {
      const wa = ch.whatsapp || {};
      const confirm = h("button", { type: "button", class: "button danger small", testid: "channel-delete-confirm", hidden: true }, t("common.confirm_delete"));
      const del = h("button", { type: "button", class: "button ghost small", testid: "channel-delete" }, t("common.delete"));
      del.addEventListener("click", () => {
        del.hidden = true;
        confirm.hidden = false;
        confirm.focus();
      });
      confirm.addEventListener("click", async () => {
        try {
          await ctx.api.deleteChannel(ch.id);
          ctx.invalidateDirectory();
          refresh();
        } catch (err) {
          error.textContent = errorText(err);
        }
      });
      tbody.append(
        h(
          "tr",
          { testid: "channel-row", "data-channel-id": String(ch.id) },
          h("td", {}, h("strong", {}, ch.name || ch.id), h("div", { class: "muted small" }, t(`channel.kind.${ch.kind}`)), wa.phone_number_id || ch.phone_number_id ? h("div", { class: "muted small" }, `${t("channels.phone_number_id")}: ${wa.phone_number_id || ch.phone_number_id}`) : null),
          h("td", {}, webhookBox(ch.webhook_url)),
          h("td", { testid: "last-webhook-at" }, lastWebhook(ch)),
          h("td", {}, h("a", { href: `#/calls/messenger/${encodeURIComponent(ch.id)}`, testid: "channel-settings" }, t("channels.settings"))),
          h("td", {}, del, confirm),
        ),
      );
    }
  }

  // connect form
  const inputs = {
    name: h("input", { type: "text", testid: "channel-name", required: true, autocomplete: "off" }),
    phone_number_id: h("input", { type: "text", testid: "channel-phone-number-id", required: true, autocomplete: "off", inputmode: "numeric" }),
    access_token: h("input", { type: "password", testid: "channel-access-token", required: true, autocomplete: "off" }),
    app_secret: h("input", { type: "password", testid: "channel-app-secret", required: true, autocomplete: "off" }),
    verify_token: h("input", { type: "text", testid: "channel-verify-token", required: true, autocomplete: "off" }),
    api_base_url: h("input", { type: "url", testid: "channel-api-base-url", autocomplete: "off", placeholder: "https://graph.facebook.com" }),
  };
  const fields = {
    name: field(t("channels.name"), inputs.name),
    phone_number_id: field(t("channels.phone_number_id"), inputs.phone_number_id, { hint: t("channels.phone_number_id_hint") }),
    access_token: field(t("channels.access_token"), inputs.access_token),
    app_secret: field(t("channels.app_secret"), inputs.app_secret, { hint: t("channels.app_secret_hint") }),
    verify_token: field(t("channels.verify_token"), inputs.verify_token, { hint: t("channels.verify_token_hint") }),
    api_base_url: field(t("channels.api_base_url"), inputs.api_base_url, { hint: t("channels.api_base_url_hint") }),
  };
  const status = statusLine("channel-create-status");
  const result = h("div", { class: "result", testid: "channel-created", hidden: true });

  async function onSubmit(e) {
    e.preventDefault();
    for (const f of Object.values(fields)) f.error("");
    let missing = false;
    for (const k of ["name", "phone_number_id", "access_token", "app_secret", "verify_token"]) {
      if (!inputs[k].value.trim()) {
        fields[k].error(t("common.required"));
        missing = true;
      }
    }
    if (missing) return;
    const whatsapp = {
      phone_number_id: inputs.phone_number_id.value.trim(),
      access_token: inputs.access_token.value.trim(),
      app_secret: inputs.app_secret.value.trim(),
      verify_token: inputs.verify_token.value.trim(),
    };
    if (inputs.api_base_url.value.trim()) whatsapp.api_base_url = inputs.api_base_url.value.trim();
    try {
      const ch = await ctx.api.createChannel({ kind: "whatsapp", name: inputs.name.value.trim(), whatsapp });
      setStatus(status, t("channels.created"), "ok");
      clear(
        result,
        h("h3", {}, t("channels.created_title", { name: (ch && ch.name) || inputs.name.value })),
        h("p", {}, t("channels.paste_webhook")),
        webhookBox(ch && ch.webhook_url),
        h("p", { class: "muted" }, t("channels.paste_verify_token")),
      );
      result.hidden = false;
      form.reset();
      ctx.invalidateDirectory();
      refresh();
    } catch (err) {
      const key = (err.field || "").replace(/^whatsapp\./, "");
      if (fields[key]) fields[key].error(err.message);
      setStatus(status, errorText(err), "error");
    }
  }

  const form = h(
    "form",
    { class: "card form-grid", onSubmit, novalidate: true, "aria-labelledby": "connect-title" },
    h("h2", { id: "connect-title" }, t("channels.connect_whatsapp")),
    Object.values(fields),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "button primary", testid: "channel-create" }, t("channels.connect")), status),
  );

  const el = h(
    "section",
    { class: "page" },
    h("div", { class: "page-head" }, h("h1", {}, t("channels.title"))),
    error,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table", testid: "channel-list" },
        h("thead", {}, h("tr", {}, [t("channels.channel"), t("channels.webhook_url"), t("channels.last_webhook_at"), "", ""].map((x) => h("th", { scope: "col" }, x)))),
        tbody,
      ),
    ),
    result,
    form,
  );
  refresh();
  return { el, title: t("channels.title"), refresh };
}

// Admin: channels, their queues («Очередь сотрудников»), the form that connects a WhatsApp
// Business number, and one channel's page (#/admin/channels/{id}): name, routing mode, phone
// number id, and the tokens — never shown, only "set", each replaceable; a new verify token can
// be generated (shown once, to paste into Meta).
import { t, plural } from "../i18n.js";
import { h, clear, field, fmtDateTime, errorText, fieldErrorText, statusLine, setStatus, uid } from "../dom.js";
import { list } from "../api.js";

function isActive(e) {
  return e.active !== false && !e.deactivated_at && e.status !== "deactivated";
}

/** Employee ids of a members answer: {employee_ids: [...]}, or a bare list of ids / employees. */
function memberIds(data) {
  const raw = Array.isArray(data) ? data : (data && data.employee_ids) || [];
  return raw.map((x) => String(x && typeof x === "object" ? x.id : x));
}

/**
 * The queue of one channel («Очередь сотрудников»): who works its chats. A checkbox per active
 * employee and a save button (PUT /channels/{id}/members, the whole list). Test ids:
 * channel-queue, channel-queue-member (data-employee-id), channel-queue-save,
 * channel-queue-status, channel-queue-count.
 */
export function queueEditor(ctx, channelId, { heading = false, onSaved } = {}) {
  const titleId = uid("queue");
  const listEl = h("div", { class: "checklist queue-list", testid: "channel-queue-list" });
  const status = statusLine("channel-queue-status");
  const count = h("span", { class: "muted small", testid: "channel-queue-count" });
  let inputs = [];
  let baseline = [];
  const current = () => inputs.filter((i) => i.checked).map((i) => i.value).sort();
  const dirty = () => JSON.stringify(current()) !== JSON.stringify(baseline);

  function showCount() {
    const n = current().length;
    count.textContent = t("queue.count", { n, people: plural("unit.person", n) });
  }

  function render(employees, ids) {
    clear(listEl);
    const chosen = new Set(ids);
    // members who are no longer active stay visible so they can be removed
    const people = employees.filter((e) => isActive(e) || chosen.has(String(e.id)));
    inputs = people.map((e) => {
      const input = h("input", { type: "checkbox", value: String(e.id), id: uid("qm"), testid: "channel-queue-member", "data-employee-id": String(e.id), checked: chosen.has(String(e.id)) });
      listEl.append(
        h(
          "div",
          { class: "field field-inline" },
          input,
          h("label", { for: input.id }, ctx.employeeName(e), h("span", { class: "muted" }, ` · ${t(`role.${e.role}`)}${isActive(e) ? "" : ` · ${t("employees.deactivated")}`}`)),
        ),
      );
      return input;
    });
    if (!people.length) listEl.append(h("p", { class: "muted" }, t("employees.empty")));
    baseline = ids.filter((id) => people.some((e) => String(e.id) === id)).sort();
    showCount();
  }

  async function load() {
    try {
      const [members, dir] = await Promise.all([ctx.api.channelMembers(channelId), ctx.directory()]);
      render(dir.employees, memberIds(members));
      setStatus(status, "");
    } catch (err) {
      setStatus(status, errorText(err), "error");
    }
  }

  async function save() {
    const ids = current();
    saveButton.disabled = true;
    setStatus(status, t("settings.saving"));
    try {
      const saved = await ctx.api.saveChannelMembers(channelId, ids);
      baseline = saved ? memberIds(saved).sort() : ids;
      ctx.invalidateDirectory();
      setStatus(status, t("queue.saved"), "ok");
      if (onSaved) onSaved(baseline);
    } catch (err) {
      setStatus(status, err.field ? fieldErrorText(err) : errorText(err), "error");
    } finally {
      saveButton.disabled = false;
    }
  }

  function setAll(on) {
    for (const i of inputs) i.checked = on;
    changed();
  }

  function changed() {
    showCount();
    setStatus(status, dirty() ? t("settings.unsaved") : "");
  }

  const saveButton = h("button", { type: "button", class: "button primary", testid: "channel-queue-save", onClick: save }, t("queue.save"));
  const el = h(
    "section",
    { class: "card queue", testid: "channel-queue", "data-channel-id": String(channelId), "aria-labelledby": titleId, onChange: changed },
    h(heading ? "h2" : "h3", { id: titleId }, t("queue.title"), " ", count),
    h("p", { class: "hint" }, t("queue.hint")),
    h(
      "div",
      { class: "toolbar" },
      h("button", { type: "button", class: "button small", testid: "channel-queue-all", onClick: () => setAll(true) }, t("queue.all")),
      h("button", { type: "button", class: "button small", testid: "channel-queue-none", onClick: () => setAll(false) }, t("queue.none")),
    ),
    listEl,
    h("div", { class: "form-actions" }, saveButton, status),
  );
  load();
  return { el, load };
}

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

export function mount(ctx, params = {}) {
  if (params.id) return channelPage(ctx, params.id);
  const tbody = h("tbody", {});
  const error = h("p", { class: "form-error", role: "alert" });
  const openQueues = new Set();
  const editors = new Map();

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
      const queueCell = h("td", { colspan: 5, class: "queue-cell" });
      const queueRow = h("tr", { class: "queue-row", testid: "channel-queue-row", hidden: !openQueues.has(String(ch.id)) }, queueCell);
      const queueToggle = h(
        "button",
        { type: "button", class: "button small", testid: "channel-queue-toggle", "aria-expanded": String(!queueRow.hidden) },
        t("queue.title"),
      );
      const showQueue = (on) => {
        queueRow.hidden = !on;
        queueToggle.setAttribute("aria-expanded", String(on));
        if (on) {
          openQueues.add(String(ch.id));
          // one editor per channel, kept across the 10-second refresh so unsaved ticks survive
          if (!editors.has(String(ch.id))) editors.set(String(ch.id), queueEditor(ctx, ch.id));
          if (!queueCell.firstChild) queueCell.append(editors.get(String(ch.id)).el);
        } else openQueues.delete(String(ch.id));
      };
      queueToggle.addEventListener("click", () => showQueue(queueRow.hidden));
      if (!queueRow.hidden) showQueue(true);
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
          h("td", {}, h("a", { href: `#/admin/channels/${encodeURIComponent(ch.id)}`, testid: "channel-open", class: "channel-name" }, h("strong", {}, ch.name || ch.id)), h("div", { class: "muted small" }, t(`channel.kind.${ch.kind}`)), wa.phone_number_id || ch.phone_number_id ? h("div", { class: "muted small" }, `${t("channels.phone_number_id")}: ${wa.phone_number_id || ch.phone_number_id}`) : null),
          h("td", { "data-label": t("channels.webhook_url") }, webhookBox(ch.webhook_url)),
          h("td", { testid: "last-webhook-at", "data-label": t("channels.last_webhook_at") }, lastWebhook(ch)),
          h("td", {}, h("a", { href: `#/calls/messenger/${encodeURIComponent(ch.id)}`, testid: "channel-settings" }, t("channels.settings"))),
          h("td", { class: "actions" }, queueToggle, " ", del, confirm),
        ),
        queueRow,
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
      if (fields[key]) fields[key].error(fieldErrorText(err));
      setStatus(status, fields[key] ? t("form.not_saved") : errorText(err), "error");
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
        { class: "table stack-on-phone", testid: "channel-list" },
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

const SECRETS = ["access_token", "app_secret", "verify_token"];
const ROUTING = ["manual", "round_robin", "sticky"];

/** A random verify token: 32 characters of [A-Za-z0-9] from the browser's CSPRNG. */
export function randomToken(n = 32) {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = new Uint8Array(n);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => abc[b % abc.length]).join("");
}

/** One channel: connection details, replaceable secrets, the queue. */
/** The channel's WhatsApp Business Account id, wherever the channel JSON puts it. */
function wabaOf(ch) {
  return String((ch && (ch.waba_id || (ch.whatsapp && ch.whatsapp.waba_id))) || "");
}

/** The channel's sends per second, as the form shows it. */
function rateOf(ch) {
  const n = ch && ch.whatsapp && ch.whatsapp.messages_per_second;
  return n == null ? "" : String(n);
}

function channelPage(ctx, id) {
  let channel = null;
  const title = h("h1", {}, t("channels.channel"));
  const error = h("p", { class: "form-error", role: "alert", testid: "channel-page-error" });
  const details = h("dl", { class: "kv", testid: "channel-details" });

  // name, routing mode, phone number id
  const inputs = {
    name: h("input", { type: "text", testid: "channel-edit-name", autocomplete: "off", maxlength: 200 }),
    routing: h("select", { testid: "channel-edit-routing" }, ROUTING.map((r) => h("option", { value: r }, t(`channel.routing.${r}`)))),
    phone_number_id: h("input", { type: "text", testid: "channel-edit-phone-number-id", autocomplete: "off", inputmode: "numeric" }),
    waba_id: h("input", { type: "text", testid: "channel-edit-waba-id", autocomplete: "off", inputmode: "numeric" }),
    messages_per_second: h("input", { type: "number", testid: "channel-edit-rate", min: 1, max: 1000, step: 1 }),
    allow_write_first: h("input", { type: "checkbox", testid: "channel-edit-write-first" }),
  };
  const fields = {
    name: field(t("channel.rename"), inputs.name, { testid: "channel-edit-name" }),
    routing: field(t("channel.routing"), inputs.routing, { testid: "channel-edit-routing" }),
    "whatsapp.phone_number_id": field(t("channels.phone_number_id"), inputs.phone_number_id, { hint: t("channels.phone_number_id_hint"), testid: "channel-edit-phone-number-id" }),
    "whatsapp.waba_id": field(t("channel.waba_id"), inputs.waba_id, { hint: t("channel.waba_id_hint"), testid: "channel-edit-waba-id" }),
    "whatsapp.messages_per_second": field(t("channel.messages_per_second"), inputs.messages_per_second, { hint: t("channel.messages_per_second_hint"), testid: "channel-edit-rate" }),
    allow_write_first: field(t("channel.allow_write_first"), inputs.allow_write_first, { inline: true, hint: t("channel.allow_write_first_hint"), testid: "channel-edit-write-first" }),
  };
  const saveStatus = statusLine("channel-edit-status");
  const editForm = h(
    "form",
    { class: "card form-grid", novalidate: true, testid: "channel-edit", "aria-labelledby": "channel-edit-title", onSubmit: saveDetails },
    h("h2", { id: "channel-edit-title" }, t("settings.connection")),
    details,
    Object.values(fields),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "button primary", testid: "channel-edit-save" }, t("common.save")), saveStatus),
  );

  async function patch(body, status, fieldMap) {
    for (const f of Object.values(fieldMap)) f.error("");
    try {
      const updated = await ctx.api.updateChannel(id, body);
      channel = updated || (await ctx.api.channel(id));
      ctx.invalidateDirectory();
      render();
      return true;
    } catch (err) {
      const f = fieldMap[err.field] || fieldMap[String(err.field || "").replace(/^whatsapp\./, "")];
      if (f) f.error(fieldErrorText(err));
      setStatus(status, f ? t("form.not_saved") : errorText(err), "error");
      return false;
    }
  }

  async function saveDetails(e) {
    e.preventDefault();
    const body = {};
    const name = inputs.name.value.trim();
    if (!name) {
      fields.name.error(t("common.required"));
      return;
    }
    if (name !== channel.name) body.name = name;
    if (inputs.routing.value !== channel.routing) body.routing = inputs.routing.value;
    const phone = inputs.phone_number_id.value.trim();
    const wa = channel.whatsapp || {};
    if (phone && phone !== wa.phone_number_id) body.whatsapp = { phone_number_id: phone };
    const waba = inputs.waba_id.value.trim();
    if (waba !== wabaOf(channel)) body.whatsapp = { ...(body.whatsapp || {}), waba_id: waba || null };
    const rate = inputs.messages_per_second.value.trim();
    if (rate !== rateOf(channel)) body.whatsapp = { ...(body.whatsapp || {}), messages_per_second: rate === "" ? null : Number(rate) };
    if (inputs.allow_write_first.checked !== !!channel.allow_write_first) body.allow_write_first = inputs.allow_write_first.checked;
    if (!Object.keys(body).length) {
      setStatus(saveStatus, t("settings.no_changes"));
      return;
    }
    if (await patch(body, saveStatus, fields)) setStatus(saveStatus, t("channel.saved"), "ok");
  }

  // secrets: "set", and a replace field each
  const secretStatus = statusLine("channel-secret-status");
  const secretFields = {};
  const secretRows = SECRETS.map((key) => {
    const label = t(`channels.${key}`);
    const input = h("input", { type: "password", testid: `channel-new-${key.replace(/_/g, "-")}`, autocomplete: "new-password", "aria-label": t("channel.new_value", { what: label }) });
    const f = field(label, input, { testid: `channel-new-${key.replace(/_/g, "-")}` });
    f.querySelector("label").append(" ", h("span", { class: "status-pill open", testid: `channel-${key.replace(/_/g, "-")}-set` }, t("channel.secret_set")));
    secretFields[key] = f;
    const button = h("button", { type: "button", class: "button", testid: `channel-replace-${key.replace(/_/g, "-")}` }, t("channel.replace"));
    button.addEventListener("click", async () => {
      const value = input.value.trim();
      if (!value) {
        f.error(t("common.required"));
        input.focus();
        return;
      }
      button.disabled = true;
      if (await patch({ whatsapp: { [key]: value } }, secretStatus, secretFields)) {
        input.value = "";
        setStatus(secretStatus, t("channel.replaced", { what: label }), "ok");
      }
      button.disabled = false;
    });
    return h("div", { class: "secret-row" }, f, button);
  });
  const generated = h("div", { class: "result", testid: "channel-verify-generated", hidden: true });
  const generate = h("button", { type: "button", class: "button", testid: "channel-generate-verify-token" }, t("channel.generate_verify"));
  generate.addEventListener("click", async () => {
    const token = randomToken();
    generate.disabled = true;
    if (await patch({ whatsapp: { verify_token: token } }, secretStatus, secretFields)) {
      clear(generated, h("p", {}, t("channel.generated_verify")), webhookBox(token));
      generated.querySelector("code").setAttribute("data-testid", "channel-verify-token-value");
      generated.hidden = false;
      setStatus(secretStatus, t("channel.replaced", { what: t("channels.verify_token") }), "ok");
    }
    generate.disabled = false;
  });
  const secrets = h(
    "section",
    { class: "card form-grid", testid: "channel-secrets", "aria-labelledby": "channel-secrets-title" },
    h("h2", { id: "channel-secrets-title" }, t("channel.credentials")),
    h("p", { class: "hint" }, t("channel.credentials_hint")),
    secretRows,
    h("div", { class: "form-actions" }, generate, secretStatus),
    generated,
  );

  function render() {
    const wa = channel.whatsapp || {};
    const name = channel.name || channel.id;
    title.textContent = t("channel.title", { name });
    crumb.textContent = name;
    const state = channel.status || "active";
    const rows = [
      [t("channels.kind"), t(`channel.kind.${channel.kind}`)],
      [t("channel.status"), h("span", { class: `status-pill ${state === "active" ? "open" : "closed"}`, testid: "channel-status" }, t(`channel.status.${state}`), channel.status_reason ? ` — ${channel.status_reason}` : "")],
      [t("channels.webhook_url"), webhookBox(channel.webhook_url)],
      [t("channels.last_webhook_at"), h("span", { testid: "last-webhook-at" }, lastWebhook(channel))],
      wa.api_base_url ? [t("channel.graph"), `${wa.api_base_url} · ${wa.api_version || ""}`] : null,
    ].filter(Boolean);
    clear(details, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    inputs.name.value = channel.name || "";
    inputs.routing.value = channel.routing || "manual";
    inputs.phone_number_id.value = wa.phone_number_id || "";
    inputs.waba_id.value = wabaOf(channel);
    inputs.messages_per_second.value = rateOf(channel);
    inputs.allow_write_first.checked = !!channel.allow_write_first;
    secrets.hidden = channel.kind !== "whatsapp";
  }

  const crumb = h("span", {});
  const queue = queueEditor(ctx, id, { heading: true });
  const el = h(
    "section",
    { class: "page channel-page", testid: "channel-page" },
    h("nav", { class: "breadcrumbs", "aria-label": t("nav.breadcrumbs") }, h("a", { href: "#/admin/channels", testid: "channel-back" }, t("channel.back")), " › ", crumb),
    h("div", { class: "page-head" }, title, h("a", { href: `#/calls/messenger/${encodeURIComponent(id)}`, testid: "channel-messenger-settings" }, t("channel.messenger_settings"))),
    error,
    editForm,
    secrets,
    queue.el,
  );
  (async () => {
    try {
      channel = await ctx.api.channel(id);
      render();
    } catch (err) {
      error.textContent = errorText(err);
    }
  })();
  // typed but not saved: a new name, mode or number, or a replacement secret
  const isDirty = () => {
    if (!channel) return false;
    const wa = channel.whatsapp || {};
    const typed = [
      inputs.name.value.trim() !== (channel.name || ""),
      inputs.routing.value !== (channel.routing || "manual"),
      inputs.phone_number_id.value.trim() !== (wa.phone_number_id || ""),
      inputs.waba_id.value.trim() !== wabaOf(channel),
      inputs.messages_per_second.value.trim() !== rateOf(channel),
      inputs.allow_write_first.checked !== !!channel.allow_write_first,
    ];
    return typed.some(Boolean) || [...secrets.querySelectorAll("input")].some((i) => i.value.trim());
  };
  const beforeUnload = (e) => {
    if (!isDirty()) return;
    e.preventDefault();
    e.returnValue = "";
  };
  window.addEventListener("beforeunload", beforeUnload);
  return { el, title: t("channels.channel"), isDirty, destroy: () => window.removeEventListener("beforeunload", beforeUnload) };
}

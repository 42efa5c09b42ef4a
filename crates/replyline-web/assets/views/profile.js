// The caller's own profile (#/profile, reached from the name in the header): display name,
// online/away, password change, the Telegram link, notification preferences (e-mail, Telegram,
// language, quiet hours) and the browser alerts (sound, desktop notification, count in the tab
// title). Saved preferences are announced with the `replyline:preferences` window event, which
// the alerts module listens to.
import { t } from "../i18n.js";
import { h, field, errorText, fieldErrorText, statusLine, setStatus } from "../dom.js";

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** A card with a heading and a form; `onSubmit` gets the event already prevented. */
function card(title, testid, children, onSubmit) {
  const id = `${testid}-title`;
  return h(
    "form",
    { class: "card form-grid profile-card", testid, novalidate: true, "aria-labelledby": id, onSubmit: (e) => (e.preventDefault(), onSubmit()) },
    h("h2", { id }, title),
    children,
  );
}

function checkboxField(label, testid, hint) {
  const input = h("input", { type: "checkbox", testid });
  return { input, el: field(label, input, { inline: true, hint, testid }) };
}

/** Shows a server error at the field it names (from `fields`), else in `status`. */
function showError(err, fields, status) {
  const key = String(err.field || "").split(".").pop();
  const target = fields[err.field] || fields[key];
  if (target) target.error(fieldErrorText(err));
  setStatus(status, target ? t("form.not_saved") : errorText(err), "error");
}

export function mount(ctx) {
  const me = () => ctx.me || {};

  // ---- who I am ------------------------------------------------------------------------------
  const identity = h("dl", { class: "kv", testid: "profile-identity" });
  const displayName = h("input", { type: "text", testid: "profile-display-name", autocomplete: "nickname", maxlength: 200 });
  const nameFields = { display_name: field(t("employees.display_name"), displayName, { hint: t("employees.display_name_hint"), testid: "profile-display-name" }) };
  const nameStatus = statusLine("profile-name-status");
  const nameCard = card(
    t("profile.identity"),
    "profile-identity-form",
    [identity, nameFields.display_name, h("div", { class: "form-actions" }, h("button", { type: "submit", class: "button primary", testid: "profile-name-save" }, t("common.save")), nameStatus)],
    async () => {
      nameFields.display_name.error("");
      try {
        await ctx.api.updateMe({ display_name: displayName.value.trim() || null });
        await ctx.refreshMe();
        setStatus(nameStatus, t("profile.saved"), "ok");
      } catch (err) {
        showError(err, nameFields, nameStatus);
      }
    },
  );

  // ---- online / away -------------------------------------------------------------------------
  const online = checkboxField(t("profile.online"), "profile-online", t("profile.online_hint"));
  const presenceStatus = statusLine("profile-presence-status");
  online.input.addEventListener("change", async () => {
    const want = online.input.checked;
    online.input.disabled = true;
    try {
      await ctx.api.updateMe({ online: want });
      await ctx.refreshMe();
      setStatus(presenceStatus, want ? t("profile.now_online") : t("profile.now_away"), "ok");
    } catch (err) {
      online.input.checked = !want;
      setStatus(presenceStatus, errorText(err), "error");
    } finally {
      online.input.disabled = false;
    }
  });
  const presenceCard = h("section", { class: "card form-grid profile-card", testid: "profile-presence", "aria-labelledby": "profile-presence-title" }, h("h2", { id: "profile-presence-title" }, t("profile.presence")), online.el, presenceStatus);

  // ---- password ------------------------------------------------------------------------------
  const pw = {
    current_password: h("input", { type: "password", testid: "profile-current-password", autocomplete: "current-password" }),
    password: h("input", { type: "password", testid: "profile-new-password", autocomplete: "new-password" }),
    repeat: h("input", { type: "password", testid: "profile-repeat-password", autocomplete: "new-password" }),
  };
  const pwFields = {
    current_password: field(t("profile.current_password"), pw.current_password, { testid: "profile-current-password" }),
    password: field(t("profile.new_password"), pw.password, { hint: t("profile.password_hint"), testid: "profile-new-password" }),
    repeat: field(t("profile.repeat_password"), pw.repeat, { testid: "profile-repeat-password" }),
  };
  const pwStatus = statusLine("profile-password-status");
  const pwButton = h("button", { type: "submit", class: "button primary", testid: "profile-password-save" }, t("profile.change_password"));
  const passwordCard = card(t("profile.password"), "profile-password", [Object.values(pwFields), h("div", { class: "form-actions" }, pwButton, pwStatus)], async () => {
    for (const f of Object.values(pwFields)) f.error("");
    setStatus(pwStatus, "");
    const errors = [];
    if (!pw.current_password.value) errors.push(["current_password", t("profile.error.current_required")]);
    if (pw.password.value.length < 8) errors.push(["password", t("profile.error.too_short")]);
    else if (pw.password.value !== pw.repeat.value) errors.push(["repeat", t("profile.error.mismatch")]);
    if (errors.length) {
      for (const [k, msg] of errors) pwFields[k].error(msg);
      pw[errors[0][0]].focus();
      return;
    }
    pwButton.disabled = true;
    try {
      await ctx.api.updateMe({ password: pw.password.value, current_password: pw.current_password.value });
      for (const input of Object.values(pw)) input.value = "";
      setStatus(pwStatus, t("profile.password_changed"), "ok");
    } catch (err) {
      showError(err, pwFields, pwStatus);
    } finally {
      pwButton.disabled = false;
    }
  });

  // ---- Telegram ------------------------------------------------------------------------------
  const chatId = h("input", { type: "text", testid: "profile-telegram-chat-id", autocomplete: "off", inputmode: "numeric", class: "short", maxlength: 64 });
  const tgFields = { telegram_chat_id: field(t("profile.telegram_chat_id"), chatId, { hint: t("profile.telegram_chat_id_hint"), testid: "profile-telegram-chat-id" }) };
  const tgStatus = statusLine("profile-telegram-status");
  const unlink = h("button", { type: "button", class: "button ghost", testid: "profile-telegram-unlink" }, t("profile.telegram_unlink"));
  async function saveTelegram(value) {
    tgFields.telegram_chat_id.error("");
    try {
      await ctx.api.updateMe({ telegram_chat_id: value });
      await ctx.refreshMe();
      fillTelegram();
      setStatus(tgStatus, value ? t("profile.telegram_linked") : t("profile.telegram_unlinked"), "ok");
    } catch (err) {
      showError(err, tgFields, tgStatus);
    }
  }
  unlink.addEventListener("click", () => saveTelegram(null));
  const telegramCard = card(
    t("profile.telegram"),
    "profile-telegram",
    [
      h("ol", { class: "steps hint" }, h("li", {}, t("profile.telegram_step1")), h("li", {}, t("profile.telegram_step2")), h("li", {}, t("profile.telegram_step3"))),
      tgFields.telegram_chat_id,
      h("div", { class: "form-actions" }, h("button", { type: "submit", class: "button primary", testid: "profile-telegram-save" }, t("profile.telegram_link")), unlink, tgStatus),
    ],
    () => {
      const v = chatId.value.trim();
      if (!v) {
        tgFields.telegram_chat_id.error(t("common.required"));
        return;
      }
      saveTelegram(v);
    },
  );
  function fillTelegram() {
    chatId.value = me().telegram_chat_id || "";
    unlink.hidden = !me().telegram_chat_id;
  }

  // ---- notification preferences and alerts ---------------------------------------------------
  const email = checkboxField(t("profile.pref_email"), "pref-email", t("profile.pref_email_hint"));
  const telegram = checkboxField(t("profile.pref_telegram"), "pref-telegram", t("profile.pref_telegram_hint"));
  // Say plainly when this server cannot deliver by e-mail or Telegram.
  Promise.resolve(ctx.server && ctx.server()).then((info) => {
    if (!info) return;
    const say = (f, on, key) => {
      const hint = f.el.querySelector(".hint");
      if (hint && !on) hint.textContent = t(key);
    };
    say(email, info.email_delivery, "profile.pref_email_off");
    say(telegram, info.telegram_delivery, "profile.pref_telegram_off");
  });
  const language = h("select", { testid: "pref-language", class: "short" }, h("option", { value: "ru" }, "Русский"), h("option", { value: "en" }, "English"));
  const quiet = checkboxField(t("profile.quiet_enabled"), "pref-quiet-enabled", t("profile.quiet_hint"));
  const qStart = h("input", { type: "text", testid: "pref-quiet-start", class: "tiny", placeholder: "22:00", inputmode: "numeric", autocomplete: "off" });
  const qEnd = h("input", { type: "text", testid: "pref-quiet-end", class: "tiny", placeholder: "08:00", inputmode: "numeric", autocomplete: "off" });
  const qZone = h("input", { type: "text", testid: "pref-quiet-timezone", class: "short", list: "tz-list-profile", autocomplete: "off" });
  const tzList = h("datalist", { id: "tz-list-profile" });
  try {
    for (const z of Intl.supportedValuesOf("timeZone")) tzList.append(h("option", { value: z }));
  } catch {
    /* free text */
  }
  const sound = checkboxField(t("profile.alert_sound"), "alert-sound", t("profile.alert_sound_hint"));
  const desktop = checkboxField(t("profile.alert_desktop"), "alert-desktop", t("profile.alert_desktop_hint"));
  const titleCount = checkboxField(t("profile.alert_title"), "alert-title", t("profile.alert_title_hint"));
  const permissionState = h("span", { class: "muted small", testid: "alert-permission-state", role: "status" });
  const permissionButton = h("button", { type: "button", class: "button small", testid: "alert-permission" }, t("profile.alert_permission"));
  permissionButton.addEventListener("click", async () => {
    if (typeof Notification === "undefined") return showPermission();
    try {
      await Notification.requestPermission();
    } catch {
      /* older browsers take a callback; the state below tells what happened */
    }
    showPermission();
  });
  function showPermission() {
    const state = typeof Notification === "undefined" ? "unsupported" : Notification.permission;
    permissionState.textContent = t(`profile.permission.${state}`);
    permissionButton.hidden = state === "granted" || state === "unsupported";
  }
  const prefFields = {
    email: email.el,
    telegram: telegram.el,
    language: field(t("profile.pref_language"), language, { hint: t("profile.pref_language_hint"), testid: "pref-language" }),
    "quiet_hours.start": field(t("profile.quiet_start"), qStart, { testid: "pref-quiet-start" }),
    "quiet_hours.end": field(t("profile.quiet_end"), qEnd, { testid: "pref-quiet-end" }),
    "quiet_hours.timezone": field(t("settings.hours.timezone"), qZone, { testid: "pref-quiet-timezone" }),
    alert_sound: sound.el,
    alert_desktop: desktop.el,
    alert_title: titleCount.el,
  };
  prefFields.quiet_hours = prefFields["quiet_hours.start"];
  const quietBox = h("div", { class: "row quiet-hours" }, prefFields["quiet_hours.start"], prefFields["quiet_hours.end"], prefFields["quiet_hours.timezone"], tzList);
  quiet.input.addEventListener("change", () => (quietBox.hidden = !quiet.input.checked));
  const prefStatus = statusLine("prefs-status");
  const prefButton = h("button", { type: "submit", class: "button primary", testid: "prefs-save" }, t("common.save"));
  const prefsCard = card(
    t("profile.notifications"),
    "profile-preferences",
    [
      h("p", { class: "hint" }, t("profile.notifications_hint")),
      email.el,
      telegram.el,
      prefFields.language,
      quiet.el,
      quietBox,
      h("h3", { class: "subhead" }, t("profile.alerts")),
      h("p", { class: "hint" }, t("profile.alerts_hint")),
      sound.el,
      desktop.el,
      h("div", { class: "permission-row" }, permissionButton, permissionState),
      titleCount.el,
      h("div", { class: "form-actions" }, prefButton, prefStatus),
    ],
    savePreferences,
  );

  function readPreferences() {
    const errors = [];
    let quietHours = null;
    if (quiet.input.checked) {
      if (!TIME.test(qStart.value.trim())) errors.push(["quiet_hours.start", t("profile.error.time")]);
      if (!TIME.test(qEnd.value.trim())) errors.push(["quiet_hours.end", t("profile.error.time")]);
      if (!qZone.value.trim()) errors.push(["quiet_hours.timezone", t("common.required")]);
      quietHours = { start: qStart.value.trim(), end: qEnd.value.trim(), timezone: qZone.value.trim() };
    }
    const body = {
      email: email.input.checked,
      telegram: telegram.input.checked,
      language: language.value,
      quiet_hours: quietHours,
      alert_sound: sound.input.checked,
      alert_desktop: desktop.input.checked,
      alert_title: titleCount.input.checked,
    };
    return { body, errors };
  }

  function fillPreferences(p) {
    email.input.checked = p.email !== false;
    telegram.input.checked = p.telegram !== false;
    language.value = p.language === "en" ? "en" : "ru";
    const q = p.quiet_hours;
    quiet.input.checked = !!q;
    quietBox.hidden = !q;
    qStart.value = q ? q.start || "" : "22:00";
    qEnd.value = q ? q.end || "" : "08:00";
    qZone.value = q ? q.timezone || "" : guessZone();
    sound.input.checked = p.alert_sound !== false;
    desktop.input.checked = p.alert_desktop !== false;
    titleCount.input.checked = p.alert_title !== false;
  }

  async function savePreferences() {
    for (const f of Object.values(prefFields)) if (f.error) f.error("");
    const { body, errors } = readPreferences();
    if (errors.length) {
      for (const [k, msg] of errors) prefFields[k].error(msg);
      setStatus(prefStatus, t("settings.not_saved"), "error");
      return;
    }
    prefButton.disabled = true;
    setStatus(prefStatus, t("settings.saving"));
    try {
      const saved = await ctx.api.savePreferences(body);
      fillPreferences(saved || body);
      prefsBaseline = JSON.stringify(readPreferences().body);
      window.dispatchEvent(new CustomEvent("replyline:preferences", { detail: saved || body }));
      setStatus(prefStatus, t("profile.saved"), "ok");
    } catch (err) {
      showError(err, prefFields, prefStatus);
    } finally {
      prefButton.disabled = false;
    }
  }

  // ---- page ----------------------------------------------------------------------------------
  function fillIdentity() {
    const m = me();
    identity.replaceChildren(
      ...[
        [t("employees.name"), m.name],
        [t("employees.email"), m.email],
        [t("employees.role"), m.role ? t(`role.${m.role}`) : ""],
      ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v || "—")]),
    );
    displayName.value = m.display_name || "";
    online.input.checked = !!m.online;
  }

  const loadError = h("p", { class: "form-error", role: "alert", testid: "profile-error" });
  async function load() {
    fillIdentity();
    fillTelegram();
    showPermission();
    try {
      fillPreferences(await ctx.api.preferences());
      prefsBaseline = JSON.stringify(readPreferences().body);
    } catch (err) {
      loadError.textContent = errorText(err);
    }
  }

  const el = h(
    "section",
    { class: "page profile", testid: "profile-page" },
    h("div", { class: "page-head" }, h("h1", {}, t("profile.title"))),
    loadError,
    h("div", { class: "profile-grid" }, h("div", { class: "profile-col" }, nameCard, presenceCard, passwordCard, telegramCard), h("div", { class: "profile-col" }, prefsCard)),
  );
  // unsaved: a typed password, a changed display name or Telegram id, preferences not saved
  let prefsBaseline = "";
  const isDirty = () =>
    Object.values(pw).some((i) => i.value) ||
    displayName.value.trim() !== (me().display_name || "") ||
    chatId.value.trim() !== (me().telegram_chat_id || "") ||
    (prefsBaseline !== "" && JSON.stringify(readPreferences().body) !== prefsBaseline);
  const beforeUnload = (e) => {
    if (!isDirty()) return;
    e.preventDefault();
    e.returnValue = "";
  };
  window.addEventListener("beforeunload", beforeUnload);
  load();
  return { el, title: t("profile.title"), isDirty, destroy: () => window.removeEventListener("beforeunload", beforeUnload) };
}

function guessZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "Europe/Moscow";
  } catch {
    return "Europe/Moscow";
  }
}

// Messenger settings of one channel (SPEC §2): the connection and the channel's queue, then "show
// other settings" reveals the three groups and the further sections. Delays are chosen from
// common values or typed as a whole number of seconds/minutes/hours/days, and stored in seconds;
// saving sends only the groups and fields that changed. Holidays are typed and shown as ДД.ММ.ГГГГ
// in Russian (ISO in English; both are accepted) and sent as ISO dates. Leaving the page with
// unsaved edits asks first (the router's dialog, and the browser's own on reload or close).
import { t } from "../i18n.js";
import { h, clear, field, uid, waMarkup, errorText, fieldErrorText, fmtIsoDate, parseDate } from "../dom.js";
import { list } from "../api.js";
import { webhookBox, lastWebhook, queueEditor } from "./channels.js";
import { delayField, personPicker, renderTemplate, templateError, TEXT_VARS, NOTIFY_VARS } from "../widgets.js";
import { placeholders, fillPreview } from "./wa_templates.js";

export { renderTemplate };

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function get(obj, path) {
  return path.split(".").reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);
}

function setPath(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys[keys.length - 1]] = value;
}

function same(a, b) {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Only the groups/fields of `cur` that differ from `base`. Arrays are compared whole. */
export function diffSettings(base, cur) {
  const patch = {};
  for (const [group, value] of Object.entries(cur)) {
    if (Array.isArray(value) || value === null || typeof value !== "object") {
      if (!same(base[group], value)) patch[group] = value;
      continue;
    }
    for (const [k, v] of Object.entries(value)) {
      if (!same(base[group] && base[group][k], v)) (patch[group] ??= {})[k] = v;
    }
  }
  return patch;
}

export function mount(ctx, { id }) {
  const controls = []; // {path, get(): {value, error?}, set(settings), input}
  let baseline = null;
  let channel = null;
  let loaded = false;

  // ---- control builders ------------------------------------------------------------------------

  function register(path, input, getter, setter) {
    input.setAttribute("data-field", path);
    controls.push({ path, input, get: getter, set: setter });
  }

  function bool(path, label, testid, hint) {
    const input = h("input", { type: "checkbox", testid });
    const el = field(label, input, { inline: true, hint, testid });
    register(path, input, () => ({ value: input.checked }), (s) => (input.checked = !!get(s, path)));
    return el;
  }

  /** A text with template variables, checked as it is typed (unknown variables, length). */
  function textArea(path, label, testid, { rows = 3, hint, vars = TEXT_VARS } = {}) {
    const input = h("textarea", { rows, testid, maxlength: 4096 });
    const el = field(label, input, { hint: hint ?? t("settings.variables_hint"), testid });
    const check = () => templateError(input.value, vars);
    input.addEventListener("input", () => el.error(check()));
    register(
      path,
      input,
      () => {
        const error = check();
        return error ? { value: input.value, error } : { value: input.value };
      },
      (s) => {
        input.value = get(s, path) ?? "";
        el.error("");
      },
    );
    return el;
  }

  /** A delay: common values or «Другое…» with a whole number and a unit; stored in seconds. */
  function delay(path, label, testid, { optional = false, hint } = {}) {
    const d = delayField(label, testid, { optional, hint: hint ?? (optional ? undefined : t("settings.delay_hint")) });
    register(path, d.select, d.get, (s) => d.set(get(s, path)));
    d.number.setAttribute("data-field", `${path}.value`);
    return d;
  }

  /** «Руководитель» of a control rule: chosen people, or (empty) the employee's manager. */
  const pickers = [];
  function managers(group, testid) {
    const path = `${group}.manager_ids`;
    const picker = personPicker({
      label: t("settings.notify.managers"),
      testid,
      emptyText: t("settings.notify.managers_empty"),
      hint: t("settings.notify.managers_hint"),
      addLabel: t("settings.notify.managers_add"),
      nameOf: (e) => ctx.employeeName(e),
      describe: (e) => (e.role ? t(`role.${e.role}`) : ""),
    });
    register(path, picker.el, picker.get, (s) => picker.set(get(s, path) || []));
    pickers.push(picker);
    return picker.el;
  }

  /** «Текст уведомления» with a live preview rendered with sample values. */
  const notifyPreviews = [];
  function notifyText(group, testid, delayCtl) {
    const el = textArea(`${group}.text`, t("settings.notify.text"), testid, { rows: 3, vars: NOTIFY_VARS, hint: t("settings.notify.text_hint") });
    const input = el.querySelector("textarea");
    const out = h("div", { class: "notify-preview-text", testid: `${testid}-preview` });
    const preview = h("div", { class: "notify-preview", "aria-live": "polite" }, h("div", { class: "preview-title" }, t("settings.notify.preview")), out);
    function update() {
      const r = delayCtl.get();
      const minutes = r.value ? Math.floor(r.value / 60) : 0;
      const vars = {
        client_name: t("settings.preview.client_name"),
        employee_name: t("settings.sign.sample_name"),
        company_name: companyName(),
        waited_minutes: String(minutes),
      };
      out.textContent = renderTemplate(input.value, vars, NOTIFY_VARS);
      preview.classList.toggle("invalid", !!templateError(input.value, NOTIFY_VARS));
    }
    input.addEventListener("input", update);
    delayCtl.select.addEventListener("change", update);
    delayCtl.number.addEventListener("input", update);
    delayCtl.unit.addEventListener("change", update);
    notifyPreviews.push(update);
    return [el, preview];
  }

  let serverCompany = "";
  Promise.resolve(ctx.server && ctx.server()).then((info) => {
    serverCompany = (info && info.company_name) || "";
    for (const update of notifyPreviews) update();
  });
  /** `{company_name}` in previews: the server's `company_name` once it is known. */
  function companyName() {
    return serverCompany || t("settings.preview.company_name");
  }

  // The channel's WhatsApp templates (GET /channels/{id}/templates), for the pickers below.
  let channelTemplates = [];
  const templatePickers = [];

  function template(group) {
    const name = h("input", { type: "text", testid: `${tid(group)}-template-name`, autocomplete: "off", class: "short" });
    const language = h("input", { type: "text", testid: `${tid(group)}-template-language`, autocomplete: "off", class: "tiny", placeholder: "ru" });
    const pick = h("select", { testid: `${tid(group)}-template-pick` });
    const params = h("div", { class: "template-params", testid: `${tid(group)}-template-params` });
    const preview = h("div", { class: "template-preview", testid: `${tid(group)}-template-preview` });
    const path = `${group}.template`;
    let paramInputs = [];
    let names = [];

    const known = () => channelTemplates.find((x) => x.name === name.value.trim() && x.language === (language.value.trim() || "ru"));

    function drawPreview() {
      const tpl = known();
      const values = paramInputs.map((i) => renderTemplate(i.value, previewVars(), TEXT_VARS) || i.value);
      clear(preview, tpl && tpl.preview ? [h("span", { class: "muted small" }, `${t("template.preview")}: `), fillPreview(tpl.preview, names, values)] : null);
    }

    /** One input per parameter of the chosen template (or of the stored parameters). */
    function drawParams(values) {
      const tpl = known();
      names = tpl ? placeholders(tpl) : values.map((_, i) => String(i + 1));
      paramInputs = names.map((n, i) => {
        const input = h("input", { type: "text", maxlength: 1024, testid: `${tid(group)}-template-param`, "data-field": `${path}.parameters[${i}]`, autocomplete: "off", onInput: () => (checkParam(input), drawPreview()) });
        input.value = values[i] || "";
        return input;
      });
      clear(
        params,
        paramInputs.map((input, i) => field(t("template.parameter", { name: `{{${names[i]}}}` }), input, { hint: i === 0 ? t("settings.template.parameter_hint") : undefined, testid: `${tid(group)}-template-param` })),
      );
      drawPreview();
    }

    function checkParam(input) {
      const err = templateError(input.value, TEXT_VARS);
      if (input.fieldWrapper) input.fieldWrapper.error(err);
      return !err;
    }

    function drawPick() {
      const current = known();
      clear(
        pick,
        h("option", { value: "" }, channelTemplates.length ? t("settings.template.pick") : t("settings.template.pick_none")),
        channelTemplates
          .filter((x) => String(x.status).toUpperCase() === "APPROVED")
          .map((x) => h("option", { value: `${x.name}|${x.language}`, selected: current === x }, `${x.name} · ${x.language}`)),
      );
    }

    pick.addEventListener("change", () => {
      if (!pick.value) return;
      const [n, l] = pick.value.split("|");
      name.value = n;
      language.value = l;
      drawParams(paramInputs.map((i) => i.value));
      name.dispatchEvent(new Event("input", { bubbles: true }));
    });
    for (const input of [name, language]) input.addEventListener("change", () => (drawPick(), drawParams(paramInputs.map((i) => i.value))));

    register(
      path,
      name,
      () => {
        if (!name.value.trim()) return { value: null };
        const value = { name: name.value.trim(), language: language.value.trim() || "ru" };
        const parameters = paramInputs.map((i) => i.value);
        if (!parameters.some((p) => p.trim())) return { value }; // none given: the engine sends none
        value.parameters = parameters;
        const bad = paramInputs.find((i) => !checkParam(i));
        if (bad) return { value, error: templateError(bad.value, TEXT_VARS) };
        return { value };
      },
      (s) => {
        const tpl = get(s, path);
        name.value = tpl && tpl.name ? tpl.name : "";
        language.value = tpl && tpl.language ? tpl.language : "";
        drawPick();
        drawParams(tpl && Array.isArray(tpl.parameters) ? tpl.parameters : []);
      },
    );
    templatePickers.push(() => {
      drawPick();
      drawParams(paramInputs.map((i) => i.value));
    });
    language.setAttribute("data-field", `${path}.language`);
    return h(
      "details",
      { class: "template", testid: `${tid(group)}-template` },
      h("summary", {}, t("settings.template.summary")),
      h("p", { class: "hint" }, t("settings.template.hint")),
      h("div", { class: "field" }, h("label", {}, t("settings.template.from_list")), pick),
      h("div", { class: "row" }, field(t("settings.template.name"), name), field(t("settings.template.language"), language)),
      params,
      preview,
    );
  }

  /** The variables' sample values of the previews. */
  function previewVars() {
    return { client_name: t("settings.preview.client_name"), employee_name: t("settings.sign.sample_name"), company_name: companyName() };
  }

  async function loadTemplates() {
    try {
      channelTemplates = list(await ctx.api.templates(id));
    } catch {
      channelTemplates = []; // no WABA id yet, or Meta unreachable: names are typed by hand
    }
    for (const redraw of templatePickers) redraw();
  }

  const tid = (group) => group.replace(/_/g, "-");

  function block(title, ...children) {
    return h("div", { class: "setting-block" }, h("h3", {}, title), children);
  }

  // ---- groups ----------------------------------------------------------------------------------

  const automatic = h(
    "section",
    { class: "card settings-group", "aria-labelledby": "grp-auto", testid: "group-automatic" },
    h("h2", { id: "grp-auto" }, t("settings.group.automatic")),
    block(t("settings.greeting.title"), bool("greeting.enabled", t("settings.enabled"), "greeting-enabled", t("settings.greeting.hint")), textArea("greeting.text", t("settings.text"), "greeting-text"), template("greeting")),
    block(
      t("settings.no_reply.title"),
      bool("no_reply.enabled", t("settings.enabled"), "no-reply-enabled", t("settings.no_reply.hint")),
      delay("no_reply.after_seconds", t("settings.no_reply.after"), "no-reply-delay").el,
      textArea("no_reply.text", t("settings.text"), "no-reply-text"),
      template("no_reply"),
    ),
    block(
      t("settings.closing.title"),
      bool("closing.enabled", t("settings.enabled"), "closing-enabled", t("settings.closing.hint")),
      textArea("closing.text", t("settings.text"), "closing-text"),
      bool("closing.on_auto_close", t("settings.closing.on_auto_close"), "closing-on-auto-close"),
      template("closing"),
    ),
  );

  function controlRule(group, ids, titleKey, enabledKey) {
    const after = delay(`${group}.after_seconds`, t("settings.notify.after"), ids.delay);
    return block(
      t(titleKey),
      bool(`${group}.enabled`, t(enabledKey), ids.enabled, t("settings.notify.hint")),
      after.el,
      managers(group, ids.managers),
      notifyText(group, ids.text, after),
      delay(`${group}.escalate_after_seconds`, t("settings.notify.escalate"), ids.escalate, { optional: true, hint: t("settings.notify.escalate_hint") }).el,
    );
  }

  const control = h(
    "section",
    { class: "card settings-group", "aria-labelledby": "grp-control", testid: "group-control" },
    h("h2", { id: "grp-control" }, t("settings.group.control")),
    controlRule(
      "notify_manager_first",
      { enabled: "notify-first-enabled", delay: "notify-first-delay", managers: "notify-first-managers", text: "notify-first-text", escalate: "notify-first-escalate-delay" },
      "settings.notify_first.title",
      "settings.notify_first.enabled",
    ),
    controlRule(
      "notify_manager_next",
      { enabled: "notify-next-enabled", delay: "notify-next-delay", managers: "notify-next-managers", text: "notify-next-text", escalate: "notify-next-escalate-delay" },
      "settings.notify_next.title",
      "settings.notify_next.enabled",
    ),
  );

  // outgoing appearance with live preview
  const signFormat = h("textarea", { rows: 2, testid: "sign-format", class: "mono" });
  const signMode = h(
    "select",
    { testid: "sign-mode" },
    h("option", { value: "every_message" }, t("settings.sign.mode.every_message")),
    h("option", { value: "on_change" }, t("settings.sign.mode.on_change")),
  );
  const signEnabledEl = bool("sign_outgoing.enabled", t("settings.sign.enabled"), "sign-enabled", t("settings.sign.hint"));
  register("sign_outgoing.format", signFormat, () => ({ value: signFormat.value }), (s) => (signFormat.value = get(s, "sign_outgoing.format") ?? ""));
  register("sign_outgoing.mode", signMode, () => ({ value: signMode.value }), (s) => (signMode.value = get(s, "sign_outgoing.mode") || "every_message"));
  const preview = h("div", { class: "wa-preview", testid: "sign-preview", "aria-live": "polite" });
  const appearance = h(
    "section",
    { class: "card settings-group", "aria-labelledby": "grp-appearance", testid: "group-appearance" },
    h("h2", { id: "grp-appearance" }, t("settings.group.appearance")),
    block(
      t("settings.sign.title"),
      signEnabledEl,
      field(t("settings.sign.format"), signFormat, { hint: t("settings.sign.format_hint"), testid: "sign-format" }),
      field(t("settings.sign.mode"), signMode, { testid: "sign-mode" }),
      h("div", { class: "preview-wrap" }, h("div", { class: "preview-title" }, t("settings.sign.preview")), preview),
    ),
  );

  function updatePreview() {
    const enabled = signEnabledEl.querySelector("input").checked;
    const me = ctx.me || {};
    const name = me.display_name || me.name || t("settings.sign.sample_name");
    const samples = [t("settings.sign.sample1"), t("settings.sign.sample2")];
    clear(preview);
    samples.forEach((text, i) => {
      const signed = enabled && (signMode.value === "every_message" || i === 0);
      const body = signed ? renderTemplate(signFormat.value || "{text}", { employee_name: name, text, company_name: companyName() }) : text;
      preview.append(h("div", { class: "wa-bubble", testid: "sign-preview-message" }, waMarkup(body), h("span", { class: "wa-time" }, i === 0 ? "10:00" : "10:01")));
    });
    if (enabled && !signFormat.value.includes("{text}")) {
      preview.append(h("p", { class: "warning" }, t("settings.sign.needs_text")));
    }
  }
  for (const el of [signFormat, signMode]) el.addEventListener("input", updatePreview);
  signEnabledEl.querySelector("input").addEventListener("change", updatePreview);

  // working hours
  const tz = h("input", { type: "text", testid: "working-hours-timezone", list: "tz-list", autocomplete: "off", class: "short" });
  const tzList = h("datalist", { id: "tz-list" });
  try {
    for (const z of Intl.supportedValuesOf("timeZone")) tzList.append(h("option", { value: z }));
  } catch {
    /* older browsers: free text */
  }
  register("working_hours.timezone", tz, () => ({ value: tz.value.trim() }), (s) => (tz.value = get(s, "working_hours.timezone") || "Europe/Moscow"));
  const dayInputs = DAYS.map((d) => {
    const input = h("input", { type: "text", testid: `working-hours-${d}`, autocomplete: "off", placeholder: t("settings.hours.day_off"), class: "short" });
    input.setAttribute("data-field", `working_hours.week.${d}`);
    return input;
  });
  const weekSentinel = h("span", { hidden: true });
  register(
    "working_hours.week",
    weekSentinel,
    () => {
      const week = {};
      DAYS.forEach((d, i) => {
        week[d] = dayInputs[i].value.split(/[,;\s]+/).map((x) => x.trim()).filter(Boolean);
      });
      return { value: week };
    },
    (s) => {
      const week = get(s, "working_hours.week") || {};
      DAYS.forEach((d, i) => (dayInputs[i].value = (week[d] || []).join(", ")));
    },
  );
  const holidays = h("textarea", { rows: 3, testid: "working-hours-holidays", class: "mono short", placeholder: fmtIsoDate("2026-12-31") });
  register(
    "working_hours.holidays",
    holidays,
    () => {
      const typed = holidays.value.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
      const bad = typed.find((x) => !parseDate(x));
      const value = typed.map((x) => parseDate(x) || x);
      return bad ? { value, error: t("settings.error.date", { value: bad }) } : { value };
    },
    (s) => (holidays.value = (get(s, "working_hours.holidays") || []).map(fmtIsoDate).join("\n")),
  );
  const hours = h(
    "section",
    { class: "card settings-group", "aria-labelledby": "grp-hours", testid: "group-working-hours" },
    h("h2", { id: "grp-hours" }, t("settings.group.working_hours")),
    bool("working_hours.enabled", t("settings.hours.enabled"), "working-hours-enabled", t("settings.hours.hint")),
    field(t("settings.hours.timezone"), tz, { testid: "working-hours-timezone" }),
    tzList,
    h(
      "fieldset",
      { class: "week" },
      h("legend", {}, t("settings.hours.week")),
      h("p", { class: "hint" }, t("settings.hours.week_hint")),
      DAYS.map((d, i) => field(t(`day.${d}`), dayInputs[i], { testid: `working-hours-${d}` })),
    ),
    field(t("settings.hours.holidays"), holidays, { hint: t("settings.hours.holidays_hint_ru"), testid: "working-hours-holidays" }),
    bool("working_hours.count_working_time_only", t("settings.hours.count_working_only"), "working-hours-count-working-only", t("settings.hours.count_working_only_hint")),
  );

  const outOfHours = h(
    "section",
    { class: "card settings-group", "aria-labelledby": "grp-ooh", testid: "group-out-of-hours" },
    h("h2", { id: "grp-ooh" }, t("settings.group.out_of_hours")),
    bool("out_of_hours.enabled", t("settings.enabled"), "out-of-hours-enabled", t("settings.out_of_hours.hint")),
    textArea("out_of_hours.text", t("settings.text"), "out-of-hours-text"),
    template("out_of_hours"),
  );

  const closeReopen = h(
    "section",
    { class: "card settings-group", "aria-labelledby": "grp-close", testid: "group-auto-close" },
    h("h2", { id: "grp-close" }, t("settings.group.auto_close")),
    bool("auto_close.enabled", t("settings.auto_close.enabled"), "auto-close-enabled", t("settings.auto_close.hint")),
    delay("auto_close.after_seconds", t("settings.auto_close.after"), "auto-close-delay").el,
    h("h3", {}, t("settings.reopen.title")),
    bool("reopen.enabled", t("settings.reopen.enabled"), "reopen-enabled", t("settings.reopen.hint")),
    delay("reopen.within_seconds", t("settings.reopen.within"), "reopen-delay").el,
  );

  // supervisors
  const supervisorsBox = h("div", { class: "checklist", testid: "supervisors" });
  supervisorsBox.setAttribute("data-field", "supervisors");
  let supervisorInputs = [];
  register(
    "supervisors",
    supervisorsBox,
    () => ({ value: supervisorInputs.filter((i) => i.checked).map((i) => i.value).sort() }),
    (s) => {
      const chosen = new Set((get(s, "supervisors") || []).map(String));
      for (const i of supervisorInputs) i.checked = chosen.has(i.value);
    },
  );
  const supervisors = h(
    "section",
    { class: "card settings-group", "aria-labelledby": "grp-sup", testid: "group-supervisors" },
    h("h2", { id: "grp-sup" }, t("settings.group.supervisors")),
    h("p", { class: "hint", id: "sup-hint" }, t("settings.supervisors.hint")),
    supervisorsBox,
  );

  function fillSupervisors(employees, settings) {
    clear(supervisorsBox);
    const ids = new Set();
    const people = employees.filter((e) => e.active !== false && !e.deactivated_at);
    for (const sid of settings.supervisors || []) {
      if (!people.some((e) => String(e.id) === String(sid))) people.push({ id: sid, name: String(sid) });
    }
    supervisorInputs = [];
    for (const e of people) {
      if (ids.has(String(e.id))) continue;
      ids.add(String(e.id));
      const input = h("input", { type: "checkbox", value: String(e.id), id: uid("sup"), testid: "supervisor-option", "data-employee-id": String(e.id) });
      supervisorInputs.push(input);
      supervisorsBox.append(h("div", { class: "field field-inline" }, input, h("label", { for: input.id }, ctx.employeeName(e), e.role ? h("span", { class: "muted" }, ` · ${t(`role.${e.role}`)}`) : null)));
    }
    if (!people.length) supervisorsBox.append(h("p", { class: "muted" }, t("settings.supervisors.none")));
  }

  // ---- page ------------------------------------------------------------------------------------

  const connection = h("dl", { class: "kv", testid: "channel-connection" });
  const queue = queueEditor(ctx, id, { heading: true });
  const more = h("div", { class: "more-settings", id: uid("more"), testid: "more-settings", hidden: true }, automatic, control, appearance, hours, outOfHours, closeReopen, supervisors);
  const showMore = h(
    "button",
    { type: "button", class: "button", testid: "show-more-settings", "aria-expanded": "false", "aria-controls": more.id, onClick: () => reveal(more.hidden) },
    t("settings.show_more"),
  );
  function reveal(open) {
    more.hidden = !open;
    showMore.setAttribute("aria-expanded", String(open));
    showMore.textContent = open ? t("settings.hide_more") : t("settings.show_more");
  }

  const saveButton = h("button", { type: "submit", class: "button primary", testid: "settings-save" }, t("common.save"));
  const status = h("p", { class: "status", role: "status", "aria-live": "polite", testid: "settings-status" });
  const generalError = h("p", { class: "form-error", role: "alert", testid: "settings-error" });
  const title = h("h1", {}, t("calls.messenger_settings"));

  function clearErrors() {
    generalError.textContent = "";
    for (const c of controls) if (c.input.fieldWrapper) c.input.fieldWrapper.error("");
    for (const w of form.querySelectorAll(".field")) if (w.error) w.error("");
    for (const box of form.querySelectorAll(".field-error.injected")) box.remove();
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  }

  /** A server error at a field goes away as soon as that field is edited (capture phase: the
   * field's own live check, e.g. unknown variables, runs after and may show its own error). */
  function clearServerError(e) {
    const wrapper = e.target && e.target.closest && e.target.closest(".field");
    if (wrapper && wrapper.serverError) {
      wrapper.serverError = false;
      wrapper.error("");
    }
    const injected = e.target && e.target.nextElementSibling;
    if (injected && injected.classList.contains("injected")) {
      injected.remove();
      e.target.removeAttribute("aria-invalid");
    }
  }

  /** Shows an error next to the control of `path` (or its nearest parent path). */
  function showFieldError(path, message) {
    let p = path || "";
    let target = null;
    while (p && !target) {
      target = form.querySelector(`[data-field="${CSS.escape(p)}"]`);
      if (!target) {
        const next = p.replace(/(\[\d+\]|\.[^.[]+)$/, "");
        if (next === p) break;
        p = next;
      }
    }
    if (!target) {
      generalError.textContent = message;
      return;
    }
    if (more.contains(target)) reveal(true);
    const details = target.closest("details");
    if (details) details.open = true;
    const wrapper = target.fieldWrapper || target.closest(".field");
    if (wrapper && wrapper.error) {
      wrapper.error(message);
      wrapper.serverError = true;
    } else {
      const box = h("div", { class: "field-error injected", testid: "field-error", role: "alert" }, message);
      target.after(box);
      target.setAttribute("aria-invalid", "true");
    }
    if (target.focus) target.focus();
  }

  function collect() {
    const out = {};
    const errors = [];
    for (const c of controls) {
      const r = c.get();
      if (r.error) errors.push([c.path, r.error]);
      setPath(out, c.path, r.value);
    }
    return { value: out, errors };
  }

  function fill(settings) {
    for (const c of controls) c.set(settings);
    updatePreview();
    for (const update of notifyPreviews) update();
    baseline = collect().value;
  }

  function isDirty() {
    if (!loaded || !baseline) return false;
    return Object.keys(diffSettings(baseline, collect().value)).length > 0;
  }

  function markDirty() {
    if (!loaded) return;
    status.textContent = isDirty() ? t("settings.unsaved") : "";
  }

  function beforeUnload(e) {
    if (!isDirty()) return;
    e.preventDefault();
    e.returnValue = "";
  }
  window.addEventListener("beforeunload", beforeUnload);

  async function onSubmit(e) {
    e.preventDefault();
    clearErrors();
    const { value, errors } = collect();
    if (errors.length) {
      for (const [path, msg] of errors) showFieldError(path, msg);
      status.textContent = t("settings.not_saved");
      return;
    }
    const patch = diffSettings(baseline, value);
    if (!Object.keys(patch).length) {
      status.textContent = t("settings.no_changes");
      return;
    }
    saveButton.disabled = true;
    status.textContent = t("settings.saving");
    try {
      const saved = await ctx.api.saveSettings(id, patch);
      if (saved && typeof saved === "object" && saved.greeting) fill(saved);
      else fill(await ctx.api.settings(id));
      status.textContent = t("settings.saved");
    } catch (err) {
      status.textContent = t("settings.not_saved");
      if (err.field) showFieldError(err.field, fieldErrorText(err));
      else generalError.textContent = errorText(err);
    } finally {
      // the button is usable again after every save, successful or not
      saveButton.disabled = false;
    }
  }

  const form = h(
    "form",
    { class: "settings-form", novalidate: true, onSubmit, onInput: markDirty, onChange: markDirty },
    h("div", { class: "show-more" }, showMore),
    more,
    h("div", { class: "save-bar" }, saveButton, status, generalError),
  );

  function renderConnection() {
    const wa = (channel && channel.whatsapp) || {};
    const rows = [
      [t("channels.name"), channel.name || channel.id],
      [t("channels.kind"), t(`channel.kind.${channel.kind}`)],
      wa.phone_number_id || channel.phone_number_id ? [t("channels.phone_number_id"), wa.phone_number_id || channel.phone_number_id] : null,
      [t("channels.webhook_url"), webhookBox(channel.webhook_url)],
      [t("channels.last_webhook_at"), h("span", { testid: "last-webhook-at" }, lastWebhook(channel))],
    ].filter(Boolean);
    clear(connection, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }

  async function load() {
    try {
      const [ch, settings, dir] = await Promise.all([
        ctx.api.channel(id).catch(async (err) => {
          const all = await ctx.api.channels().then(list).catch(() => []);
          const found = all.find((c) => String(c.id) === String(id));
          if (!found) throw err;
          return found;
        }),
        ctx.api.settings(id),
        ctx.directory(),
      ]);
      channel = ch;
      title.textContent = `${t("calls.messenger_settings")}: ${ch.name || ch.id}`;
      renderConnection();
      fillSupervisors(dir.employees, settings);
      const active = dir.employees.filter((e) => e.active !== false && !e.deactivated_at);
      for (const p of pickers) p.setPeople(active);
      // templates only matter for WhatsApp's 24-hour window
      for (const d of form.querySelectorAll("details.template")) d.hidden = !!ch.kind && ch.kind !== "whatsapp";
      fill(settings);
      loaded = true;
      if (!ch.kind || ch.kind === "whatsapp") loadTemplates();
    } catch (err) {
      generalError.textContent = errorText(err);
    }
  }

  const el = h(
    "section",
    { class: "page settings" },
    h(
      "nav",
      { class: "breadcrumbs", "aria-label": t("nav.breadcrumbs") },
      h("a", { href: "#/calls" }, t("calls.title")),
      " › ",
      h("a", { href: "#/calls/messenger", testid: "settings-back" }, t("calls.messenger_settings")),
    ),
    h("div", { class: "page-head" }, title),
    h("section", { class: "card", "aria-labelledby": "grp-conn" }, h("h2", { id: "grp-conn" }, t("settings.connection")), connection, h("p", {}, h("a", { href: "#/admin/channels" }, t("settings.manage_channels")))),
    queue.el,
    form,
  );
  form.addEventListener("input", clearServerError, true);
  form.addEventListener("change", clearServerError, true);
  load();
  // a settings page is not refreshed by the poll: it would overwrite what the admin is typing
  return {
    el,
    title: t("calls.messenger_settings"),
    isDirty,
    destroy: () => window.removeEventListener("beforeunload", beforeUnload),
  };
}


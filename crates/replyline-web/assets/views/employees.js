// Admin: employees and managers — list, create, edit (incl. the channels whose queue they are
// in), deactivate.
import { t } from "../i18n.js";
import { h, clear, field, errorText, fieldErrorText, statusLine, setStatus, uid } from "../dom.js";
import { list } from "../api.js";

const ROLES = ["employee", "manager", "admin"];

function isInactive(e) {
  return e.active === false || !!e.deactivated_at || e.status === "deactivated";
}

export function mount(ctx) {
  let employees = [];
  let channels = [];
  let editing = null; // employee being edited, or null for a new one
  const tbody = h("tbody", {});
  const error = h("p", { class: "form-error", role: "alert" });

  async function refresh() {
    try {
      const [emps, chans] = await Promise.all([ctx.api.employees().then(list), ctx.api.channels().then(list).catch(() => channels)]);
      employees = emps;
      channels = chans;
      if (!channelInputs.length || channelInputs.length !== channels.length) {
        // Filling the boxes is not an edit: an untouched form stays clean.
        const clean = !isDirty();
        fillChannels(editing ? editing.channel_ids : null);
        if (clean) formBaseline = formState();
      }
      render();
      error.textContent = "";
    } catch (err) {
      error.textContent = errorText(err);
    }
  }

  function nameById(id) {
    const e = employees.find((x) => String(x.id) === String(id));
    return e ? ctx.employeeName(e) : id ? String(id) : "—";
  }

  function render() {
    clear(tbody);
    fillManagers();
    if (!employees.length) {
      tbody.append(h("tr", {}, h("td", { colspan: 7, class: "empty" }, t("employees.empty"))));
      return;
    }
    for (const e of employees) {
      const inactive = isInactive(e);
      const confirm = h("button", { type: "button", class: "button danger small", testid: "employee-deactivate-confirm", hidden: true }, t("employees.confirm_deactivate"));
      const deactivate = h("button", { type: "button", class: "button ghost small", testid: "employee-deactivate", hidden: inactive || String(e.id) === String(ctx.me.id) }, t("employees.deactivate"));
      deactivate.addEventListener("click", () => {
        deactivate.hidden = true;
        confirm.hidden = false;
        confirm.focus();
      });
      confirm.addEventListener("click", async () => {
        try {
          await ctx.api.deactivateEmployee(e.id);
          ctx.invalidateDirectory();
          refresh();
        } catch (err) {
          error.textContent = errorText(err);
        }
      });
      tbody.append(
        h(
          "tr",
          { testid: "employee-row", "data-employee-id": String(e.id), class: inactive ? "inactive" : "" },
          h("td", {}, h("strong", {}, e.name), e.display_name && e.display_name !== e.name ? h("div", { class: "muted small" }, e.display_name) : null),
          h("td", { "data-label": t("employees.email") }, e.email || "—"),
          h("td", { "data-label": t("employees.role") }, t(`role.${e.role}`)),
          h("td", { "data-label": t("employees.manager") }, e.manager_id ? nameById(e.manager_id) : "—"),
          h("td", { testid: "employee-channels", "data-label": t("employees.channels_column") }, channelNames(e)),
          h(
            "td",
            {},
            inactive
              ? h("span", { class: "status-pill closed" }, t("employees.deactivated"))
              : h("span", { class: `presence ${e.online ? "on" : ""}` }, e.online ? t("employees.online") : t("employees.offline")),
          ),
          h(
            "td",
            { class: "actions" },
            h("button", { type: "button", class: "button small", testid: "employee-edit", onClick: () => startEdit(e) }, t("common.edit")),
            deactivate,
            confirm,
          ),
        ),
      );
    }
  }

  function channelNames(e) {
    const ids = Array.isArray(e.channel_ids) ? e.channel_ids.map(String) : [];
    if (!ids.length) return h("span", { class: "muted" }, "—");
    return ids.map((id) => (channels.find((c) => String(c.id) === id) || { name: id }).name || id).join(", ");
  }

  // the channels whose queue the employee is in
  const channelBox = h("div", { class: "checklist", testid: "employee-channels-edit", "data-field": "channel_ids" });
  let channelInputs = [];
  /** Ticks the channels in `ids`; `null` (a new employee) ticks every channel's queue. */
  function fillChannels(ids) {
    const chosen = new Set((ids === null ? channels.map((c) => c.id) : ids || []).map(String));
    clear(channelBox);
    channelInputs = channels.map((c) => {
      const input = h("input", { type: "checkbox", value: String(c.id), id: uid("ech"), testid: "employee-channel", "data-channel-id": String(c.id), checked: chosen.has(String(c.id)) });
      channelBox.append(h("div", { class: "field field-inline" }, input, h("label", { for: input.id }, c.name || c.id, h("span", { class: "muted" }, ` · ${t(`channel.kind.${c.kind}`)}`))));
      return input;
    });
    if (!channels.length) channelBox.append(h("p", { class: "muted" }, t("settings.no_channels")));
  }
  const channelsError = h("div", { class: "field-error", testid: "employee-channels-error", "aria-live": "polite" });
  const channelsField = h(
    "fieldset",
    { class: "channels-fieldset" },
    h("legend", {}, t("employees.channels")),
    h("p", { class: "hint" }, t("employees.channels_hint")),
    channelBox,
    channelsError,
  );
  channelsField.error = (msg) => (channelsError.textContent = msg || "");

  // form
  const inputs = {
    name: h("input", { type: "text", testid: "employee-name", autocomplete: "off" }),
    display_name: h("input", { type: "text", testid: "employee-display-name", autocomplete: "off" }),
    email: h("input", { type: "email", testid: "employee-email", autocomplete: "off" }),
    role: h("select", { testid: "employee-role" }, ROLES.map((r) => h("option", { value: r }, t(`role.${r}`)))),
    manager_id: h("select", { testid: "employee-manager" }),
    password: h("input", { type: "password", testid: "employee-password", autocomplete: "new-password" }),
  };
  const fields = {
    name: field(t("employees.name"), inputs.name),
    display_name: field(t("employees.display_name"), inputs.display_name, { hint: t("employees.display_name_hint") }),
    email: field(t("employees.email"), inputs.email),
    role: field(t("employees.role"), inputs.role),
    manager_id: field(t("employees.manager"), inputs.manager_id, { hint: t("employees.manager_hint") }),
    password: field(t("employees.password"), inputs.password),
    channel_ids: channelsField,
  };
  const formTitle = h("h2", { id: "employee-form-title" }, t("employees.new"));
  const status = statusLine("employee-status");
  const cancel = h("button", { type: "button", class: "button ghost", testid: "employee-cancel", hidden: true, onClick: () => startEdit(null) }, t("common.cancel"));

  function fillManagers() {
    const current = inputs.manager_id.value;
    clear(inputs.manager_id).append(h("option", { value: "" }, t("employees.no_manager")));
    for (const e of employees) {
      if (isInactive(e) || (editing && String(e.id) === String(editing.id))) continue;
      inputs.manager_id.append(h("option", { value: String(e.id) }, `${ctx.employeeName(e)} (${t(`role.${e.role}`)})`));
    }
    inputs.manager_id.value = current;
  }

  function startEdit(e) {
    editing = e;
    for (const f of Object.values(fields)) f.error("");
    setStatus(status, "");
    formTitle.textContent = e ? t("employees.edit_title", { name: e.name }) : t("employees.new");
    fillManagers();
    inputs.name.value = e ? e.name || "" : "";
    inputs.display_name.value = e ? e.display_name || "" : "";
    inputs.email.value = e ? e.email || "" : "";
    inputs.role.value = e ? e.role || "employee" : "employee";
    inputs.manager_id.value = e && e.manager_id ? String(e.manager_id) : "";
    inputs.password.value = "";
    fillChannels(e ? e.channel_ids || [] : null);
    fields.password.querySelector("label").textContent = e ? t("employees.new_password") : t("employees.password");
    cancel.hidden = !e;
    formBaseline = formState();
    if (e) inputs.name.focus();
  }

  // unsaved edits in the form: the router asks before leaving, the browser before a reload
  let formBaseline = "";
  function formState() {
    const text = ["name", "display_name", "email", "password"].map((k) => inputs[k].value.trim());
    const chosen = channelInputs.filter((i) => i.checked).map((i) => i.value).sort();
    return JSON.stringify([text, inputs.role.value, inputs.manager_id.value, chosen]);
  }
  const isDirty = () => formState() !== formBaseline;
  const beforeUnload = (e) => {
    if (!isDirty()) return;
    e.preventDefault();
    e.returnValue = "";
  };
  window.addEventListener("beforeunload", beforeUnload);

  async function onSubmit(ev) {
    ev.preventDefault();
    for (const f of Object.values(fields)) f.error("");
    const body = {
      name: inputs.name.value.trim(),
      display_name: inputs.display_name.value.trim() || null,
      email: inputs.email.value.trim(),
      role: inputs.role.value,
      manager_id: inputs.manager_id.value || null,
    };
    if (inputs.password.value) body.password = inputs.password.value;
    const channelIds = channelInputs.filter((i) => i.checked).map((i) => i.value).sort();
    let missing = false;
    for (const k of ["name", "email"]) {
      if (!body[k]) {
        fields[k].error(t("common.required"));
        missing = true;
      }
    }
    if (missing) return;
    const wasEditing = !!editing;
    try {
      if (editing) {
        const patch = {};
        for (const [k, v] of Object.entries(body)) {
          const old = editing[k] === undefined || editing[k] === "" ? null : editing[k];
          if (k === "password" || String(old ?? "") !== String(v ?? "")) patch[k] = v;
        }
        const oldChannels = (editing.channel_ids || []).map(String).sort();
        if (JSON.stringify(oldChannels) !== JSON.stringify(channelIds)) patch.channel_ids = channelIds;
        if (Object.keys(patch).length) await ctx.api.updateEmployee(editing.id, patch);
      } else {
        if (body.display_name === null) delete body.display_name;
        if (body.manager_id === null) delete body.manager_id;
        if (channelIds.length) body.channel_ids = channelIds;
        await ctx.api.createEmployee(body);
      }
      ctx.invalidateDirectory();
      startEdit(null);
      setStatus(status, wasEditing ? t("employees.saved") : t("employees.created"), "ok");
      refresh();
    } catch (err) {
      const key = (err.field || "").replace(/\[\d+\]$/, "");
      if (fields[key]) fields[key].error(fieldErrorText(err));
      // shown at its field: the status line only says the form was not saved
      setStatus(status, fields[key] ? t("form.not_saved") : errorText(err), "error");
    }
  }

  const el = h(
    "section",
    { class: "page" },
    h("div", { class: "page-head" }, h("h1", {}, t("employees.title"))),
    error,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table stack-on-phone", testid: "employee-list" },
        h(
          "thead",
          {},
          h("tr", {}, [t("employees.name"), t("employees.email"), t("employees.role"), t("employees.manager"), t("employees.channels_column"), t("employees.status"), ""].map((x) => h("th", { scope: "col" }, x))),
        ),
        tbody,
      ),
    ),
    h(
      "form",
      { class: "card form-grid", onSubmit, novalidate: true, "aria-labelledby": "employee-form-title" },
      formTitle,
      Object.values(fields),
      h("div", { class: "form-actions" }, h("button", { type: "submit", class: "button primary", testid: "employee-save" }, t("common.save")), cancel, status),
    ),
  );
  formBaseline = formState();
  refresh();
  return { el, title: t("employees.title"), refresh, isDirty, destroy: () => window.removeEventListener("beforeunload", beforeUnload) };
}

// Admin: employees and managers — list, create, edit, deactivate.
import { t } from "../i18n.js";
import { h, clear, field, errorText, statusLine, setStatus } from "../dom.js";
import { list } from "../api.js";

const ROLES = ["employee", "manager", "admin"];

function isInactive(e) {
  return e.active === false || !!e.deactivated_at || e.status === "deactivated";
}

export function mount(ctx) {
  let employees = [];
  let editing = null; // employee being edited, or null for a new one
  const tbody = h("tbody", {});
  const error = h("p", { class: "form-error", role: "alert" });

  async function refresh() {
    try {
      employees = await ctx.api.employees().then(list);
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
      tbody.append(h("tr", {}, h("td", { colspan: 6, class: "empty" }, t("employees.empty"))));
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
          h("td", {}, e.email || ""),
          h("td", {}, t(`role.${e.role}`)),
          h("td", {}, e.manager_id ? nameById(e.manager_id) : "—"),
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
    fields.password.querySelector("label").textContent = e ? t("employees.new_password") : t("employees.password");
    cancel.hidden = !e;
    if (e) inputs.name.focus();
  }

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
        if (Object.keys(patch).length) await ctx.api.updateEmployee(editing.id, patch);
      } else {
        if (body.display_name === null) delete body.display_name;
        if (body.manager_id === null) delete body.manager_id;
        await ctx.api.createEmployee(body);
      }
      ctx.invalidateDirectory();
      startEdit(null);
      setStatus(status, wasEditing ? t("employees.saved") : t("employees.created"), "ok");
      refresh();
    } catch (err) {
      const key = err.field || "";
      if (fields[key]) fields[key].error(err.message);
      setStatus(status, errorText(err), "error");
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
        { class: "table", testid: "employee-list" },
        h(
          "thead",
          {},
          h("tr", {}, [t("employees.name"), t("employees.email"), t("employees.role"), t("employees.manager"), t("employees.status"), ""].map((x) => h("th", { scope: "col" }, x))),
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
  refresh();
  return { el, title: t("employees.title"), refresh };
}

// «Правила маршрутизации сообщений» (Message routing rules, SPEC §3a) and «Группы пользователей»
// (User groups), reached as Звонки и сообщения → Настройки мессенджера → Правила маршрутизации
// сообщений. Rules are an ordered list, first match wins: each has keywords, an optional channel
// («Учётная запись») and a target (one employee or a group). The order is changed by dragging a
// row's handle (Pointer Events, so mouse, touch, pen and WebDriver actions all work) or with the
// up/down buttons and arrow keys; Save replaces the whole list (PUT /routing-rules).
import { t, plural } from "../i18n.js";
import { h, clear, field, uid, errorText, fieldErrorText, knownServerText, statusLine, setStatus } from "../dom.js";
import { list } from "../api.js";
import { chipInput } from "../widgets.js";

function isActive(e) {
  return e.active !== false && !e.deactivated_at && e.status !== "deactivated";
}

/** A rule as the server keeps it → the page's editable form. */
function fromServer(r, i) {
  const target = r.group_id ? `g:${r.group_id}` : r.employee_id ? `e:${r.employee_id}` : "";
  return {
    key: `r${i}-${Math.random().toString(36).slice(2, 8)}`,
    id: r.id ? String(r.id) : "",
    keywords: Array.isArray(r.keywords) ? r.keywords.map(String) : [],
    channel_id: r.channel_id ? String(r.channel_id) : "",
    target,
  };
}

/** The page's rule → the body of PUT /routing-rules (exactly one of employee_id / group_id). */
function toServer(r) {
  const out = { keywords: r.keywords, channel_id: r.channel_id || null };
  if (r.target.startsWith("g:")) out.group_id = r.target.slice(2);
  else if (r.target.startsWith("e:")) out.employee_id = r.target.slice(2);
  return out;
}

/** `[2].keywords[0]` → {index: 2, name: "keywords"}. */
export function ruleField(path) {
  const m = String(path || "").match(/^\[(\d+)\](?:\.([a-z_]+))?/);
  return m ? { index: Number(m[1]), name: m[2] || "" } : null;
}

export function mount(ctx, { focus } = {}) {
  let rules = [];
  let groups = [];
  let employees = [];
  let channels = [];
  let savedBody = "[]";
  let loaded = false;

  // ---- rules -----------------------------------------------------------------------------------

  const rulesList = h("ol", { class: "rules", testid: "routing-rules", "aria-labelledby": "routing-title" });
  const rulesStatus = statusLine("routing-status");
  const rulesError = h("p", { class: "form-error", role: "alert", testid: "routing-error" });
  const saveButton = h("button", { type: "button", class: "button primary", testid: "routing-save", onClick: saveRules }, t("routing.save"));
  const addButton = h("button", { type: "button", class: "button", testid: "routing-rule-add", onClick: addRule }, t("routing.add"));
  const announcer = h("p", { class: "sr-only", "aria-live": "assertive" });

  const body = () => JSON.stringify(rules.map(toServer));
  function markDirty() {
    if (!loaded) return;
    setStatus(rulesStatus, body() !== savedBody ? t("settings.unsaved") : "");
  }

  function employeeName(id) {
    const e = employees.find((x) => String(x.id) === String(id));
    return e ? ctx.employeeName(e) : String(id);
  }

  function targetSelect(rule) {
    const select = h("select", { testid: "routing-rule-target", class: "rule-target" });
    select.append(h("option", { value: "" }, t("routing.target_choose")));
    const people = employees.filter((e) => isActive(e) || rule.target === `e:${e.id}`);
    const empGroup = h("optgroup", { label: t("routing.target_employees") });
    for (const e of people) empGroup.append(h("option", { value: `e:${e.id}` }, ctx.employeeName(e)));
    if (rule.target.startsWith("e:") && !people.some((e) => `e:${e.id}` === rule.target)) {
      empGroup.append(h("option", { value: rule.target }, rule.target.slice(2)));
    }
    const grpGroup = h("optgroup", { label: t("routing.target_groups") });
    for (const g of groups) {
      const n = (g.employee_ids || []).length;
      grpGroup.append(h("option", { value: `g:${g.id}` }, `${g.name} (${n} ${plural("unit.person", n)})`));
    }
    if (rule.target.startsWith("g:") && !groups.some((g) => `g:${g.id}` === rule.target)) {
      grpGroup.append(h("option", { value: rule.target }, rule.target.slice(2)));
    }
    if (people.length) select.append(empGroup);
    if (groups.length) select.append(grpGroup);
    select.value = rule.target;
    select.addEventListener("change", () => {
      rule.target = select.value;
      markDirty();
    });
    return select;
  }

  function channelSelect(rule) {
    const select = h("select", { testid: "routing-rule-channel", class: "rule-channel" }, h("option", { value: "" }, t("routing.channel_any")));
    for (const c of channels) select.append(h("option", { value: String(c.id) }, c.name || String(c.id)));
    if (rule.channel_id && !channels.some((c) => String(c.id) === rule.channel_id)) select.append(h("option", { value: rule.channel_id }, rule.channel_id));
    select.value = rule.channel_id;
    select.addEventListener("change", () => {
      rule.channel_id = select.value;
      markDirty();
    });
    return select;
  }

  /** A wrapper with a label and an error line around a control that is not a plain input. */
  function labelled(label, control, labelFor, testid) {
    const err = h("div", { class: "field-error", "aria-live": "polite", testid: `${testid}-error` });
    const wrapper = h("div", { class: "field" }, h("label", { for: labelFor }, label), control, err);
    wrapper.error = (msg) => {
      err.textContent = msg || "";
      const target = control.matches("input, select") ? control : control.querySelector("input");
      if (target) {
        if (msg) target.setAttribute("aria-invalid", "true");
        else target.removeAttribute("aria-invalid");
      }
    };
    return wrapper;
  }

  function ruleRow(rule, index) {
    const n = index + 1;
    const last = index === rules.length - 1;
    const keywords = chipInput({
      label: t("routing.keywords"),
      testid: "routing-rule-keywords",
      values: rule.keywords,
      placeholder: t("routing.keywords_placeholder"),
      onChange: (v) => {
        rule.keywords = v;
        markDirty();
      },
    });
    keywords.input.id = uid("kw");
    const channel = channelSelect(rule);
    channel.id = uid("rch");
    const target = targetSelect(rule);
    target.id = uid("rtg");
    const fields = {
      keywords: labelled(t("routing.keywords"), keywords.el, keywords.input.id, "routing-rule-keywords"),
      channel_id: field(t("routing.channel"), channel, { testid: "routing-rule-channel" }),
      target: field(t("routing.target"), target, { testid: "routing-rule-target" }),
    };
    const rowError = h("p", { class: "form-error", role: "alert", testid: "routing-rule-error" });
    const handle = h(
      "button",
      {
        type: "button",
        class: "drag-handle",
        testid: "routing-rule-handle",
        "aria-label": t("routing.drag", { n }),
        title: t("routing.drag_title"),
        "aria-describedby": "routing-drag-hint",
        onPointerdown: (e) => startDrag(e, row),
        onKeydown: (e) => {
          if (e.key === "ArrowUp" && index > 0) {
            e.preventDefault();
            move(index, -1, "routing-rule-handle");
          } else if (e.key === "ArrowDown" && !last) {
            e.preventDefault();
            move(index, 1, "routing-rule-handle");
          }
        },
      },
      h("span", { class: "grip", "aria-hidden": "true" }),
    );
    const row = h(
      "li",
      { class: "rule card", testid: "routing-rule", "data-key": rule.key, "data-rule-id": rule.id, "data-position": String(n) },
      h("div", { class: "rule-order" }, handle, h("span", { class: "rule-priority", testid: "routing-rule-priority", "aria-label": t("routing.priority", { n }) }, String(n))),
      h("div", { class: "rule-fields" }, fields.keywords, fields.channel_id, fields.target, rowError),
      h(
        "div",
        { class: "rule-actions" },
        h("button", { type: "button", class: "button small", testid: "routing-rule-up", disabled: index === 0, "aria-label": t("routing.up", { n }), title: t("routing.up_title"), onClick: () => move(index, -1, "routing-rule-up") }, "↑"),
        h("button", { type: "button", class: "button small", testid: "routing-rule-down", disabled: last, "aria-label": t("routing.down", { n }), title: t("routing.down_title"), onClick: () => move(index, 1, "routing-rule-down") }, "↓"),
        h(
          "button",
          {
            type: "button",
            class: "button ghost small danger",
            testid: "routing-rule-delete",
            "aria-label": t("routing.delete", { n }),
            onClick: () => {
              rules.splice(index, 1);
              renderRules();
              markDirty();
              const next = rulesList.querySelectorAll('[data-testid="routing-rule-delete"]')[Math.min(index, rules.length - 1)];
              (next || addButton).focus();
            },
          },
          t("common.delete"),
        ),
      ),
    );
    row.fields = fields;
    row.rowError = rowError;
    return row;
  }

  function renderRules() {
    clear(rulesList);
    if (!rules.length) {
      rulesList.append(h("li", { class: "empty", testid: "routing-rules-empty" }, t("routing.empty")));
      return;
    }
    rules.forEach((r, i) => rulesList.append(ruleRow(r, i)));
  }

  function move(index, delta, refocus) {
    const to = index + delta;
    if (to < 0 || to >= rules.length) return;
    const [r] = rules.splice(index, 1);
    rules.splice(to, 0, r);
    renderRules();
    markDirty();
    announce(t("routing.moved", { n: to + 1 }));
    const row = rulesList.children[to];
    const el = row && row.querySelector(`[data-testid="${refocus}"]`);
    if (el && !el.disabled) el.focus();
    else if (row) row.querySelector('[data-testid="routing-rule-handle"]').focus();
  }

  function announce(text) {
    announcer.textContent = "";
    setTimeout(() => (announcer.textContent = text), 30);
  }

  // Drag to reorder with Pointer Events: the row follows the pointer and its neighbours move
  // out of the way as the pointer passes their middle. The dragged row itself is never moved in
  // the DOM while the pointer is down (moving it would release the pointer capture).
  function startDrag(e, row) {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    e.preventDefault();
    const handle = e.currentTarget;
    try {
      handle.setPointerCapture(e.pointerId);
    } catch {
      /* synthetic pointers may not be capturable; the window listeners still see them */
    }
    handle.focus({ preventScroll: true });
    const grab = e.clientY - row.getBoundingClientRect().top;
    const before = [...rulesList.children].indexOf(row);
    row.classList.add("dragging");
    rulesList.classList.add("reordering");
    const mid = (el) => {
      const r = el.getBoundingClientRect();
      return r.top + r.height / 2;
    };
    function onMove(ev) {
      if (ev.pointerId !== e.pointerId) return;
      ev.preventDefault();
      for (let moved = true; moved; ) {
        moved = false;
        const prev = row.previousElementSibling;
        const next = row.nextElementSibling;
        if (prev && ev.clientY < mid(prev)) {
          rulesList.insertBefore(prev, row.nextSibling);
          moved = true;
        } else if (next && ev.clientY > mid(next)) {
          rulesList.insertBefore(next, row);
          moved = true;
        }
      }
      row.style.transform = "";
      const natural = row.getBoundingClientRect().top;
      row.style.transform = `translateY(${Math.round(ev.clientY - grab - natural)}px)`;
      [...rulesList.children].forEach((li, i) => {
        const p = li.querySelector('[data-testid="routing-rule-priority"]');
        if (p) p.textContent = String(i + 1);
      });
    }
    function onUp(ev) {
      if (ev.pointerId !== e.pointerId) return;
      window.removeEventListener("pointermove", onMove);
      window.removeEventListener("pointerup", onUp);
      window.removeEventListener("pointercancel", onUp);
      row.style.transform = "";
      row.classList.remove("dragging");
      rulesList.classList.remove("reordering");
      const order = [...rulesList.children].map((li) => li.getAttribute("data-key"));
      const after = order.indexOf(row.getAttribute("data-key"));
      rules.sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key));
      renderRules();
      const moved = rulesList.children[after];
      if (moved) moved.querySelector('[data-testid="routing-rule-handle"]').focus({ preventScroll: true });
      if (after !== before) {
        markDirty();
        announce(t("routing.moved", { n: after + 1 }));
      }
    }
    window.addEventListener("pointermove", onMove, { passive: false });
    window.addEventListener("pointerup", onUp);
    window.addEventListener("pointercancel", onUp);
  }

  function addRule() {
    rules.push(fromServer({}, rules.length));
    renderRules();
    markDirty();
    const input = rulesList.lastElementChild.querySelector('[data-testid="routing-rule-keywords-input"]');
    if (input) input.focus();
  }

  function clearRuleErrors() {
    rulesError.textContent = "";
    for (const row of rulesList.children) {
      if (!row.fields) continue;
      for (const f of Object.values(row.fields)) f.error("");
      row.rowError.textContent = "";
    }
  }

  function ruleError(index, name, message) {
    const row = rulesList.children[index];
    if (!row || !row.fields) {
      rulesError.textContent = message;
      return;
    }
    const key = name === "employee_id" || name === "group_id" ? "target" : name;
    const f = row.fields[key];
    if (f) f.error(message);
    else row.rowError.textContent = message;
  }

  async function saveRules() {
    clearRuleErrors();
    let bad = false;
    rules.forEach((r, i) => {
      if (!r.keywords.length) {
        ruleError(i, "keywords", t("routing.error.keywords"));
        bad = true;
      }
      if (!r.target) {
        ruleError(i, "target", t("routing.error.target"));
        bad = true;
      }
    });
    if (bad) {
      setStatus(rulesStatus, t("routing.not_saved"), "error");
      const first = rulesList.querySelector("[aria-invalid]");
      if (first) first.focus();
      return;
    }
    saveButton.disabled = true;
    setStatus(rulesStatus, t("settings.saving"));
    try {
      const saved = await ctx.api.saveRoutingRules(rules.map(toServer));
      const fresh = Array.isArray(saved) || (saved && (saved.items || saved.data)) ? list(saved) : list(await ctx.api.routingRules());
      rules = fresh.map(fromServer);
      savedBody = body();
      renderRules();
      renderGroups();
      setStatus(rulesStatus, t("routing.saved"), "ok");
    } catch (err) {
      setStatus(rulesStatus, t("routing.not_saved"), "error");
      const where = ruleField(err.field);
      if (where) ruleError(where.index, where.name, fieldErrorText(err));
      else rulesError.textContent = errorText(err);
    } finally {
      saveButton.disabled = false;
    }
  }

  // ---- groups ----------------------------------------------------------------------------------

  let editing = null; // the group being edited, or null for a new one
  const groupsList = h("ul", { class: "group-list", testid: "groups-list", "aria-labelledby": "groups-title" });
  const groupsError = h("p", { class: "form-error", role: "alert", testid: "groups-error" });
  const groupName = h("input", { type: "text", testid: "group-name", autocomplete: "off", maxlength: 200, class: "short" });
  const groupNameField = field(t("groups.name"), groupName, { testid: "group-name" });
  const membersBox = h("div", { class: "checklist columns", testid: "group-members" });
  const membersError = h("div", { class: "field-error", "aria-live": "polite", testid: "group-members-error" });
  const groupFormTitle = h("h3", { id: "group-form-title", testid: "group-form-title" }, t("groups.new"));
  const groupStatus = statusLine("group-status");
  const groupSave = h("button", { type: "submit", class: "button primary", testid: "group-save" }, t("groups.create"));
  const groupCancel = h("button", { type: "button", class: "button ghost", testid: "group-cancel", hidden: true, onClick: () => editGroup(null) }, t("common.cancel"));
  let memberInputs = [];

  function fillMembers(ids) {
    const chosen = new Set((ids || []).map(String));
    clear(membersBox);
    const people = employees.filter((e) => isActive(e) || chosen.has(String(e.id)));
    memberInputs = people.map((e) => {
      const input = h("input", { type: "checkbox", value: String(e.id), id: uid("gm"), testid: "group-member", "data-employee-id": String(e.id), checked: chosen.has(String(e.id)) });
      membersBox.append(h("div", { class: "field field-inline" }, input, h("label", { for: input.id }, ctx.employeeName(e), h("span", { class: "muted" }, ` · ${t(`role.${e.role}`)}`))));
      return input;
    });
    if (!people.length) membersBox.append(h("p", { class: "muted" }, t("employees.empty")));
  }

  function editGroup(g) {
    editing = g;
    groupNameField.error("");
    membersError.textContent = "";
    setStatus(groupStatus, "");
    groupName.value = g ? g.name : "";
    fillMembers(g ? g.employee_ids : []);
    groupFormTitle.textContent = g ? t("groups.edit_title", { name: g.name }) : t("groups.new");
    groupSave.textContent = g ? t("common.save") : t("groups.create");
    groupCancel.hidden = !g;
    if (g) groupName.focus();
  }

  function renderGroups() {
    clear(groupsList);
    if (!groups.length) {
      groupsList.append(h("li", { class: "empty", testid: "groups-empty" }, t("groups.empty")));
      return;
    }
    for (const g of groups) {
      const ids = (g.employee_ids || []).map(String);
      const rowError = h("p", { class: "form-error", role: "alert", testid: "group-row-error" });
      const confirm = h("button", { type: "button", class: "button danger small", testid: "group-delete-confirm", hidden: true }, t("common.confirm_delete"));
      const del = h("button", { type: "button", class: "button ghost small", testid: "group-delete" }, t("common.delete"));
      del.addEventListener("click", () => {
        del.hidden = true;
        confirm.hidden = false;
        confirm.focus();
      });
      confirm.addEventListener("click", async () => {
        rowError.textContent = "";
        try {
          await ctx.api.deleteGroup(g.id);
          if (editing && String(editing.id) === String(g.id)) editGroup(null);
          await reloadGroups();
          setStatus(groupStatus, t("groups.deleted", { name: g.name }), "ok");
        } catch (err) {
          rowError.textContent = err.status === 409 ? knownServerText(err) || t("groups.error.in_use") : errorText(err);
          confirm.hidden = true;
          del.hidden = false;
        }
      });
      const usedBy = rules.filter((r) => r.target === `g:${g.id}`).length;
      groupsList.append(
        h(
          "li",
          { class: "group-row", testid: "group-row", "data-group-id": String(g.id) },
          h(
            "div",
            { class: "group-main" },
            h("strong", { testid: "group-row-name" }, g.name),
            h("span", { class: "muted small" }, ` · ${ids.length} ${plural("unit.person", ids.length)}`),
            usedBy ? h("span", { class: "muted small" }, ` · ${t("groups.used_by", { n: usedBy })}`) : null,
            h("div", { class: "muted small", testid: "group-row-members" }, ids.length ? ids.map(employeeName).join(", ") : t("groups.no_members")),
            rowError,
          ),
          h("div", { class: "actions" }, h("button", { type: "button", class: "button small", testid: "group-edit", onClick: () => editGroup(g) }, t("common.edit")), del, confirm),
        ),
      );
    }
  }

  async function reloadGroups() {
    groups = list(await ctx.api.groups());
    ctx.invalidateDirectory();
    renderGroups();
    renderRules(); // the target selects list the groups
    markDirty();
  }

  async function onGroupSubmit(e) {
    e.preventDefault();
    groupNameField.error("");
    membersError.textContent = "";
    const name = groupName.value.trim();
    const ids = memberInputs.filter((i) => i.checked).map((i) => i.value);
    if (!name) {
      groupNameField.error(t("groups.error.name"));
      groupName.focus();
      return;
    }
    groupSave.disabled = true;
    try {
      if (editing) {
        const patch = {};
        if (name !== editing.name) patch.name = name;
        const old = (editing.employee_ids || []).map(String).sort();
        if (JSON.stringify(old) !== JSON.stringify([...ids].sort())) patch.employee_ids = ids;
        if (Object.keys(patch).length) await ctx.api.updateGroup(editing.id, patch);
      } else {
        await ctx.api.createGroup({ name, employee_ids: ids });
      }
      const done = editing ? t("groups.saved", { name }) : t("groups.created", { name });
      editGroup(null);
      await reloadGroups();
      setStatus(groupStatus, done, "ok");
    } catch (err) {
      const key = String(err.field || "").replace(/\[\d+\]$/, "");
      if (err.status === 409) groupNameField.error(knownServerText(err) || t("groups.error.conflict"));
      else if (key === "name") groupNameField.error(fieldErrorText(err));
      else if (key === "employee_ids") membersError.textContent = fieldErrorText(err);
      setStatus(groupStatus, err.status === 409 ? t("groups.not_saved") : errorText(err), "error");
    } finally {
      groupSave.disabled = false;
    }
  }

  const groupForm = h(
    "form",
    { class: "group-form", testid: "group-form", novalidate: true, onSubmit: onGroupSubmit, "aria-labelledby": "group-form-title" },
    groupFormTitle,
    groupNameField,
    h("fieldset", { class: "members-fieldset" }, h("legend", {}, t("groups.members")), membersBox, membersError),
    h("div", { class: "form-actions" }, groupSave, groupCancel, groupStatus),
  );

  // ---- page ------------------------------------------------------------------------------------

  const groupsSection = h(
    "section",
    { class: "card", testid: "groups", id: "groups", "aria-labelledby": "groups-title" },
    h("h2", { id: "groups-title" }, t("groups.title")),
    h("p", { class: "hint" }, t("groups.hint")),
    groupsError,
    groupsList,
    groupForm,
  );

  async function load() {
    try {
      const [rs, gs, dir] = await Promise.all([ctx.api.routingRules().then(list), ctx.api.groups().then(list), ctx.directory(true)]);
      employees = dir.employees;
      channels = dir.channels;
      groups = gs;
      rules = rs.map(fromServer);
      savedBody = body();
      renderRules();
      renderGroups();
      editGroup(null);
      loaded = true;
      if (focus === "groups") groupsSection.scrollIntoView({ block: "start" });
    } catch (err) {
      rulesError.textContent = errorText(err);
    }
  }

  const el = h(
    "section",
    { class: "page routing" },
    h(
      "nav",
      { class: "breadcrumbs", "aria-label": t("nav.breadcrumbs") },
      h("a", { href: "#/calls" }, t("calls.title")),
      " › ",
      h("a", { href: "#/calls/messenger", testid: "routing-back" }, t("calls.messenger_settings")),
      " › ",
      h("span", { "aria-current": "page" }, t("routing.title")),
    ),
    h("div", { class: "page-head" }, h("h1", { id: "routing-title" }, t("routing.title"))),
    h("p", { class: "hint" }, t("routing.hint")),
    h("p", { class: "hint", id: "routing-drag-hint" }, t("routing.drag_hint")),
    rulesError,
    rulesList,
    announcer,
    h("div", { class: "form-actions rules-actions" }, addButton),
    h("div", { class: "save-bar" }, saveButton, rulesStatus),
    groupsSection,
  );
  load();
  // unsaved rules: the router asks before leaving, the browser before a reload
  const isDirty = () => loaded && body() !== savedBody;
  const beforeUnload = (e) => {
    if (!isDirty()) return;
    e.preventDefault();
    e.returnValue = "";
  };
  window.addEventListener("beforeunload", beforeUnload);
  return { el, title: t("routing.title"), isDirty, destroy: () => window.removeEventListener("beforeunload", beforeUnload) };
}

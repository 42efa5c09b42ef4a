//! «Шаблоны сообщений» (quick replies): the shared ones and the caller's own, created, edited
//! and deleted here; shared ones only by admins and managers. Typing "/" in a chat's reply box
//! inserts them with their variables filled in.
import { t } from "../i18n.js";
import { h, clear, errorText, field, checkbox, statusLine, setStatus, fieldErrorText } from "../dom.js";
import { list } from "../api.js";
import { confirmDialog, parseTemplate, renderTemplate, TEXT_VARS } from "../widgets.js";

const MAX_TITLE = 100;
const MAX_TEXT = 4096;

function maySeeShared(me) {
  return me && (me.role === "admin" || me.role === "manager");
}

/** Whether the caller may change `r`: shared ones admins/managers, personal ones the owner. */
function mayEdit(me, r) {
  return r.shared ? maySeeShared(me) : String(r.owner_id) === String(me.id);
}

export function mount(ctx) {
  let items = [];
  let editing = null; // the quick reply being edited, or null for a new one
  const listEl = h("ul", { class: "qr-list", testid: "qr-list" });
  const pageStatus = statusLine("qr-page-status");

  // ---- the form ---------------------------------------------------------------------------
  const formTitle = h("h2", { id: "qr-form-title" }, t("qr.new"));
  const title = h("input", { type: "text", testid: "qr-title", maxlength: MAX_TITLE, autocomplete: "off" });
  const text = h("textarea", { rows: 5, testid: "qr-text", maxlength: MAX_TEXT });
  const shared = checkbox(t("qr.shared"), { testid: "qr-shared", hint: maySeeShared(ctx.me) ? t("qr.shared_hint") : t("qr.shared_only_managers") });
  shared.input.disabled = !maySeeShared(ctx.me);
  const titleField = field(t("qr.title_label"), title, { testid: "qr-title" });
  const textField = field(t("qr.text_label"), text, { hint: t("qr.variables_hint"), testid: "qr-text" });
  const preview = h("p", { class: "qr-preview", testid: "qr-preview" });
  const save = h("button", { type: "submit", class: "button primary", testid: "qr-save" }, t("common.save"));
  const cancel = h("button", { type: "button", class: "button", testid: "qr-cancel", hidden: true, onClick: () => edit(null) }, t("common.cancel"));
  const status = statusLine("qr-status");
  text.addEventListener("input", showPreview);

  function showPreview() {
    const vars = { client_name: t("settings.preview.client_name"), employee_name: ctx.employeeName(ctx.me), company_name: t("settings.preview.company_name") };
    preview.textContent = text.value ? `${t("qr.preview")}: ${renderTemplate(text.value, vars, null)}` : "";
  }

  function edit(r) {
    editing = r;
    formTitle.textContent = r ? t("qr.edit_title", { name: r.title }) : t("qr.new");
    title.value = r ? r.title : "";
    text.value = r ? r.text : "";
    shared.input.checked = !!(r && r.shared);
    cancel.hidden = !r;
    titleField.error("");
    textField.error("");
    setStatus(status, "");
    showPreview();
    if (r) title.focus();
  }

  function validate() {
    let ok = true;
    const tv = title.value.trim();
    titleField.error(!tv ? t("common.required") : [...tv].length > MAX_TITLE ? t("server.length", { max: MAX_TITLE }) : "");
    if (!tv || [...tv].length > MAX_TITLE) ok = false;
    const xv = text.value;
    let err = "";
    if (!xv.trim()) err = t("common.required");
    else if ([...xv].length > MAX_TEXT) err = t("settings.error.text_too_long");
    else if (parseTemplate(xv, null).error) err = t("template.error.unclosed");
    textField.error(err);
    return ok && !err;
  }

  async function submit(e) {
    e.preventDefault();
    if (!validate()) return;
    const body = { title: title.value.trim(), text: text.value };
    if (maySeeShared(ctx.me) || (editing && editing.shared)) body.shared = shared.input.checked;
    save.disabled = true;
    try {
      if (editing) await ctx.api.updateQuickReply(editing.id, body);
      else await ctx.api.createQuickReply(body);
      setStatus(status, t(editing ? "qr.saved" : "qr.created"), "ok");
      edit(null);
      await load();
    } catch (err) {
      const at = String(err.field || "");
      if (at === "title") titleField.error(fieldErrorText(err));
      else if (at === "text") textField.error(fieldErrorText(err));
      setStatus(status, errorText(err), "error");
    } finally {
      save.disabled = false;
    }
  }

  async function remove(r) {
    const ok = await confirmDialog({ title: t("qr.delete_title"), text: t("qr.delete_text", { name: r.title }), yes: t("common.delete"), testid: "qr-delete-confirm", danger: true });
    if (!ok) return;
    try {
      await ctx.api.deleteQuickReply(r.id);
      setStatus(pageStatus, t("qr.deleted"), "ok");
      if (editing && editing.id === r.id) edit(null);
      await load();
    } catch (err) {
      setStatus(pageStatus, errorText(err), "error");
    }
  }

  function row(r, dir) {
    const owner = r.owner_id ? dir.empById.get(String(r.owner_id)) : null;
    const editable = mayEdit(ctx.me, r);
    return h(
      "li",
      { class: "qr-item card", testid: "qr-item", "data-id": String(r.id) },
      h(
        "div",
        { class: "qr-item-head" },
        h("strong", { testid: "qr-item-title" }, r.title),
        h("span", { class: `qr-kind ${r.shared ? "shared" : "personal"}`, testid: "qr-item-kind" }, r.shared ? t("qr.kind_shared") : t("qr.kind_personal")),
        r.shared && owner ? h("span", { class: "muted small" }, t("qr.author", { name: ctx.employeeName(owner) })) : null,
      ),
      h("p", { class: "qr-item-text", testid: "qr-item-text" }, r.text),
      editable
        ? h(
            "div",
            { class: "form-actions" },
            h("button", { type: "button", class: "button small", testid: "qr-edit", onClick: () => edit(r) }, t("common.edit")),
            h("button", { type: "button", class: "button small danger", testid: "qr-delete", onClick: () => remove(r) }, t("common.delete")),
          )
        : null,
    );
  }

  async function load() {
    try {
      const [all, dir] = await Promise.all([ctx.api.quickReplies().then(list), ctx.directory()]);
      items = all;
      clear(listEl);
      if (!items.length) listEl.append(h("li", { class: "empty", testid: "qr-empty" }, t("qr.empty")));
      for (const r of items) listEl.append(row(r, dir));
    } catch (err) {
      setStatus(pageStatus, errorText(err), "error");
    }
  }

  const form = h(
    "form",
    { class: "card qr-form", "aria-labelledby": "qr-form-title", onSubmit: submit, novalidate: true },
    formTitle,
    titleField,
    textField,
    preview,
    shared.el,
    h("div", { class: "form-actions" }, save, cancel, status),
  );
  const el = h(
    "section",
    { class: "page qr-page", testid: "qr-page" },
    h("div", { class: "page-head" }, h("h1", {}, t("qr.page_title"))),
    h("p", { class: "muted" }, t("qr.page_hint", { vars: TEXT_VARS.map((v) => `{${v}}`).join(", ") })),
    pageStatus,
    h("div", { class: "qr-layout" }, listEl, form),
  );
  load();
  return { el, title: t("qr.page_title") };
}

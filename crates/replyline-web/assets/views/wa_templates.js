// WhatsApp templates: the channel's list (GET /channels/{id}/templates, «Обновить» reads it from
// Meta again), only APPROVED ones selectable, one input per {{n}} parameter and a live preview
// with the values filled in. Used by the chat's «Шаблон WhatsApp» dialog and by «Написать
// первым»; the settings page uses `placeholders`/`fillPreview` for its own picker.
import { t, has } from "../i18n.js";
import { h, clear, uid, errorText, fieldErrorText } from "../dom.js";
import { list } from "../api.js";
import { modal } from "../widgets.js";

const PLACEHOLDER = /\{\{\s*([\w.]+)\s*\}\}/g;

/** The parameters of a template, in order: ["1", "2"] or named ones ["order_id"]. */
export function placeholders(tpl) {
  const seen = [];
  for (const m of String((tpl && tpl.preview) || "").matchAll(PLACEHOLDER)) if (!seen.includes(m[1])) seen.push(m[1]);
  if (seen.every((s) => /^\d+$/.test(s))) seen.sort((a, b) => Number(a) - Number(b));
  const n = Number(tpl && tpl.parameters);
  if (Number.isFinite(n) && n > seen.length) for (let i = seen.length + 1; i <= n; i += 1) seen.push(String(i));
  return Number.isFinite(n) && n >= 0 && n < seen.length ? seen.slice(0, n) : seen;
}

/** The template's text with `values` in place of its parameters (an empty one stays {{n}}). */
export function fillPreview(text, names, values) {
  return String(text || "").replace(PLACEHOLDER, (all, name) => {
    const i = names.indexOf(name);
    const v = i >= 0 ? values[i] : "";
    return v ? v : all;
  });
}

/** «order_status · ru · Одобрен» */
function optionText(tpl) {
  const status = String(tpl.status || "").toUpperCase();
  const key = `template.status.${status.toLowerCase()}`;
  const statusText = has(key) ? t(key) : status;
  return `${tpl.name} · ${tpl.language}${status === "APPROVED" ? "" : ` · ${statusText}`}`;
}

/**
 * A template chooser bound to a channel: {el, load(refresh), value(), setChannel(id), reset()}.
 * `value()` is {template} when complete, else {error} (shown at the field).
 */
export function templateChooser(ctx, initialChannel, { testid = "template", onChange } = {}) {
  let channelId = initialChannel;
  let templates = [];
  const select = h("select", { id: uid("tpl"), testid: `${testid}-select` });
  const refreshBtn = h("button", { type: "button", class: "button small", testid: `${testid}-refresh` }, t("template.refresh"));
  const status = h("p", { class: "status", role: "status", "aria-live": "polite", testid: `${testid}-status` });
  const params = h("div", { class: "template-params", testid: `${testid}-params` });
  const preview = h("div", { class: "template-preview", testid: `${testid}-preview`, "aria-live": "polite" });
  const selectError = h("div", { class: "field-error", testid: `${testid}-select-error` });
  let inputs = [];
  let names = [];

  function current() {
    const [name, language] = String(select.value || "").split("|");
    return templates.find((x) => x.name === name && x.language === language) || null;
  }

  function drawPreview() {
    const tpl = current();
    const values = inputs.map((i) => i.value);
    clear(preview, tpl ? [h("div", { class: "muted small" }, t("template.preview")), h("div", { class: "template-preview-text", testid: `${testid}-preview-text` }, fillPreview(tpl.preview, names, values))] : null);
    if (onChange) onChange();
  }

  function drawParams() {
    const tpl = current();
    names = tpl ? placeholders(tpl) : [];
    inputs = names.map((n, i) =>
      h("input", { type: "text", maxlength: 1024, id: uid("tp"), testid: `${testid}-param`, "data-index": String(i), autocomplete: "off", onInput: drawPreview }),
    );
    clear(
      params,
      inputs.map((input, i) =>
        h(
          "div",
          { class: "field" },
          h("label", { for: input.id }, t("template.parameter", { name: `{{${names[i]}}}` })),
          input,
          h("div", { class: "field-error", testid: `${testid}-param-error` }),
        ),
      ),
      tpl && !names.length ? h("p", { class: "muted small" }, t("template.no_parameters")) : null,
    );
    drawPreview();
  }

  function drawList(keep) {
    const approved = templates.filter((x) => String(x.status).toUpperCase() === "APPROVED");
    const others = templates.filter((x) => String(x.status).toUpperCase() !== "APPROVED");
    clear(
      select,
      h("option", { value: "" }, approved.length ? t("template.choose") : t("template.none_approved")),
      approved.map((x) => h("option", { value: `${x.name}|${x.language}` }, optionText(x))),
      others.length ? h("optgroup", { label: t("template.not_approved") }, others.map((x) => h("option", { value: `${x.name}|${x.language}`, disabled: true }, optionText(x)))) : null,
    );
    if (keep && [...select.options].some((o) => o.value === keep && !o.disabled)) select.value = keep;
    else if (approved.length === 1) select.value = `${approved[0].name}|${approved[0].language}`;
    drawParams();
  }

  async function load(refresh = false) {
    if (!channelId) return;
    const keep = select.value;
    status.textContent = refresh ? t("template.refreshing") : t("template.loading");
    status.className = "status";
    refreshBtn.disabled = true;
    try {
      templates = list(await ctx.api.templates(channelId, refresh));
      status.textContent = templates.length ? (refresh ? t("template.refreshed", { n: templates.length }) : "") : t("template.empty");
      drawList(keep);
    } catch (err) {
      status.textContent = errorText(err);
      status.className = "status error";
      drawList(keep);
    } finally {
      refreshBtn.disabled = false;
    }
  }

  select.addEventListener("change", () => {
    selectError.textContent = "";
    drawParams();
  });
  refreshBtn.addEventListener("click", () => load(true));

  const el = h(
    "div",
    { class: "template-chooser", testid },
    h("div", { class: "field" }, h("label", { for: select.id }, t("template.label")), h("div", { class: "row template-row" }, select, refreshBtn), selectError),
    status,
    params,
    preview,
  );

  return {
    el,
    load,
    setChannel(id) {
      if (String(id) === String(channelId)) return;
      channelId = id;
      templates = [];
      drawList("");
      load();
    },
    /** {template: {name, language, parameters}} or {error}. */
    value() {
      const tpl = current();
      for (const e of el.querySelectorAll(".field-error")) e.textContent = "";
      if (!tpl) {
        selectError.textContent = t("template.choose_error");
        return { error: true };
      }
      const values = inputs.map((i) => i.value.trim());
      const empty = values.findIndex((v) => !v);
      if (empty >= 0) {
        inputs[empty].parentElement.querySelector(".field-error").textContent = t("template.parameter_required");
        inputs[empty].focus();
        return { error: true };
      }
      return { template: { name: tpl.name, language: tpl.language, parameters: values } };
    },
    /** Shows a server error at its parameter (`template.parameters[1]`) or at the list. */
    showError(err) {
      const m = String(err.field || "").match(/parameters\[(\d+)\]/);
      if (m && inputs[Number(m[1])]) {
        inputs[Number(m[1])].parentElement.querySelector(".field-error").textContent = fieldErrorText(err);
        return true;
      }
      if (err.code === "unknown_template" || err.field === "template.name") {
        selectError.textContent = errorText(err);
        return true;
      }
      return false;
    },
  };
}

/** The chat's «Шаблон WhatsApp» dialog: `send(template)` posts it; closes on success. */
export function openTemplateDialog(ctx, channelId, send) {
  const chooser = templateChooser(ctx, channelId, { testid: "template" });
  const error = h("p", { class: "form-error", role: "alert", testid: "template-error" });
  const submit = h("button", { type: "submit", class: "button primary", testid: "template-send" }, t("template.send"));
  const cancel = h("button", { type: "button", class: "button", testid: "template-cancel" }, t("common.cancel"));
  const form = h("form", { class: "template-form", novalidate: true }, h("p", { class: "hint" }, t("template.hint")), chooser.el, error, h("div", { class: "form-actions dialog-actions" }, submit, cancel));
  const dlg = modal({ title: t("template.title"), testid: "template-dialog", body: [form] });
  dlg.el.classList.add("dialog-wide");
  cancel.addEventListener("click", () => dlg.close());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const v = chooser.value();
    if (v.error) return;
    submit.disabled = true;
    try {
      await send(v.template);
      dlg.close();
    } catch (err) {
      if (!chooser.showError(err)) error.textContent = errorText(err);
    } finally {
      submit.disabled = false;
    }
  });
  dlg.open();
  chooser.load();
  return dlg;
}

// Admin: the change log (#/admin/audit, GET /api/v1/audit): who changed what and when, each
// entry with the changed fields as «old → new» (nested objects compared leaf by leaf, field
// names as the UI calls them), newest first, «Показать ещё» pages back with the `before` cursor.
// Until the server has the endpoint (404), the page says so instead of failing.
import { t, has } from "../i18n.js";
import { h, clear, fmtDateTime, errorText, fieldLabel } from "../dom.js";
import { fmtDelay } from "../widgets.js";

const PAGE = 50;
const SECRET = "***";

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function same(a, b) {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * The changed leaves between `old` and `next` as [{path, old, new}]: objects are walked key by
 * key, anything else (arrays included) is compared whole. A create has no `old`, a delete no
 * `new`; then every leaf of the other side is listed.
 */
export function diffEntries(old, next, prefix = "") {
  if (isObject(old) || isObject(next)) {
    const a = isObject(old) ? old : {};
    const b = isObject(next) ? next : {};
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => diffEntries(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  if (same(old, next)) return [];
  return [{ path: prefix, old, new: next }];
}

/** A value as a short readable text. */
export function showValue(v, names) {
  if (v === SECRET) return t("audit.secret");
  if (v === undefined || v === null || v === "") return t("audit.empty_value");
  if (v === true) return t("audit.yes");
  if (v === false) return t("audit.no");
  if (Array.isArray(v)) {
    if (!v.length) return t("audit.empty_value");
    if (v.every((x) => !isObject(x))) return v.map((x) => names(x)).join(", ");
    return t("audit.items", { n: v.length });
  }
  if (isObject(v)) return JSON.stringify(v);
  return names(v);
}

export function mount(ctx) {
  const listEl = h("ol", { class: "audit-list", testid: "audit-list" });
  const error = h("p", { class: "form-error", role: "alert", testid: "audit-error" });
  const more = h("button", { type: "button", class: "button", testid: "audit-more", hidden: true }, t("audit.more"));
  let cursor = "";
  let dir = null;

  const who = (id) => {
    if (id === null || id === undefined || id === "") return t("audit.system");
    const e = dir && dir.empById.get(String(id));
    return e ? ctx.employeeName(e) : `#${id}`;
  };

  /** The object an entry is about: «Канал «Main»», «Сотрудник Иван Петров». */
  function subject(entry) {
    const kind = t(`audit.entity.${entry.entity}`);
    const id = entry.entity_id === null || entry.entity_id === undefined ? "" : String(entry.entity_id);
    let name = "";
    if (["settings", "channel", "members"].includes(entry.entity)) {
      const c = dir && dir.chById.get(id);
      name = c ? c.name : "";
    } else if (entry.entity === "employee") {
      const e = dir && dir.empById.get(id);
      name = e ? ctx.employeeName(e) : "";
    } else if (entry.entity === "group") {
      const g = dir && dir.grById.get(id);
      name = g ? g.name : "";
    }
    const label = name || (isObject(entry.new) && entry.new.name) || (isObject(entry.old) && entry.old.name) || (id ? `#${id}` : "");
    return label ? t("audit.subject", { kind, name: label }) : kind;
  }

  /**
   * How a value of `path` reads: people and channels by name, delays exactly («301 секунда»,
   * «10 минут»), enums
   * (routing mode, channel kind, role, signature mode) in words.
   */
  function namer(path) {
    const last = path.split(".").pop();
    const people = /^(employee_ids|manager_ids|manager_id|supervisors|employee_id)$/;
    const enumKey = { routing: "channel.routing", kind: "channel.kind", role: "role", mode: "settings.sign.mode" }[last];
    return (v) => {
      if (people.test(last) && dir && dir.empById.has(String(v))) return who(v);
      if (last === "channel_ids" && dir && dir.chById.has(String(v))) return dir.chById.get(String(v)).name;
      if (/_seconds$/.test(last) && typeof v === "number") return fmtDelay(v);
      if (enumKey && has(`${enumKey}.${v}`)) return t(`${enumKey}.${v}`);
      return String(v);
    };
  }

  function changes(entry) {
    const rows = diffEntries(entry.old, entry.new);
    if (!rows.length) return h("p", { class: "muted small" }, t("audit.no_diff"));
    return h(
      "ul",
      { class: "audit-changes" },
      rows.map((r) => {
        const names = namer(r.path);
        if (r.old === SECRET && r.new === SECRET) {
          return h("li", { testid: "audit-change", "data-path": r.path }, h("span", { class: "audit-field" }, fieldLabel(r.path) || r.path), ": ", h("span", { class: "audit-new" }, t("audit.secret_changed")));
        }
        const label = h("span", { class: "audit-field" }, fieldLabel(r.path) || r.path);
        // a creation lists the new values, a deletion the old ones; an update old → new
        if (r.old === undefined || (entry.action === "create" && r.old === null)) {
          return h("li", { testid: "audit-change", "data-path": r.path }, label, ": ", h("span", { class: "audit-new" }, showValue(r.new, names)));
        }
        if (r.new === undefined || (entry.action === "delete" && r.new === null)) {
          return h("li", { testid: "audit-change", "data-path": r.path }, label, ": ", h("span", { class: "audit-old" }, showValue(r.old, names)));
        }
        return h(
          "li",
          { testid: "audit-change", "data-path": r.path },
          label,
          ": ",
          h("span", { class: "audit-old" }, showValue(r.old, names)),
          " → ",
          h("span", { class: "audit-new" }, showValue(r.new, names)),
        );
      }),
    );
  }

  function row(entry) {
    return h(
      "li",
      { class: "audit-entry card", testid: "audit-entry", "data-entity": entry.entity, "data-action": entry.action },
      h(
        "div",
        { class: "audit-head" },
        h("strong", { testid: "audit-subject" }, subject(entry)),
        h("span", { class: `status-pill audit-action audit-${entry.action}` }, t(`audit.action.${entry.action}`)),
        h("span", { class: "muted" }, who(entry.employee_id)),
        h("time", { class: "muted small", datetime: entry.at }, fmtDateTime(entry.at)),
      ),
      changes(entry),
    );
  }

  async function loadPage() {
    more.disabled = true;
    try {
      dir = dir || (await ctx.directory());
      const page = await ctx.api.auditPage({ limit: PAGE, before: cursor || undefined });
      const items = page.items;
      if (!cursor && !items.length) listEl.append(h("li", { class: "empty", testid: "audit-empty" }, t("audit.empty")));
      for (const entry of items) listEl.append(row(entry));
      // Only the server knows whether more entries exist (X-Next-Cursor).
      cursor = page.next || "";
      more.hidden = !cursor;
      error.textContent = "";
    } catch (err) {
      if (err.status === 404 || err.status === 405) {
        clear(listEl, h("li", { class: "empty", testid: "audit-unavailable" }, t("audit.unavailable")));
        more.hidden = true;
      } else error.textContent = errorText(err);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", loadPage);

  const el = h(
    "section",
    { class: "page audit", testid: "audit-page" },
    h("div", { class: "page-head" }, h("h1", {}, t("audit.title"))),
    h("p", { class: "muted" }, t("audit.hint")),
    error,
    listEl,
    more,
  );
  loadPage();
  return { el, title: t("audit.title") };
}

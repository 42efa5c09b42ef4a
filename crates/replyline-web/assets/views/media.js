// WhatsApp media in the chat: a message's files (image and sticker previews that open full size,
// video and audio players, documents as download links; a placeholder while the server still
// downloads a client's file and a notice when it could not), location and contact cards, the
// Meta size limits checked before a file is sent, and the file chooser's preview.
import { t, getLang } from "../i18n.js";
import { h, icon } from "../dom.js";
import { modal } from "../widgets.js";

const KB = 1024;
const MB = 1024 * 1024;

/** Meta's limits by MIME type (docs/whatsapp.md «Outbound media»); anything else is a document. */
const LIMITS = [
  { kind: "image", test: /^image\/(jpeg|png)$/, max: 5 * MB },
  { kind: "sticker", test: /^image\/webp$/, max: 500 * KB },
  { kind: "video", test: /^video\/(mp4|3gpp)$/, max: 16 * MB },
  { kind: "audio", test: /^audio\/(aac|amr|mpeg|mp4|ogg)(;.*)?$/, max: 16 * MB },
];
const DOCUMENT_MAX = 100 * MB;

/** What WhatsApp makes of a file and the most it may weigh: {kind, max}. */
export function fileLimit(file) {
  const type = String((file && file.type) || "").toLowerCase();
  const known = LIMITS.find((l) => l.test.test(type));
  return known ? { kind: known.kind, max: known.max } : { kind: "document", max: DOCUMENT_MAX };
}

/** The reason a file cannot go to WhatsApp, in the UI's language, or "" when it may. */
export function fileProblem(file) {
  if (!file) return t("media.choose_file");
  if (!file.size) return t("media.empty_file");
  const { kind, max } = fileLimit(file);
  if (file.size > max) {
    const params = { kind: t(`media.kind.${kind}`), max: fmtSize(max), size: fmtSize(file.size) };
    return params.size === params.max ? t("media.too_big_plain", params) : t("media.too_big", params);
  }
  return "";
}

/** 1536 → «1,5 КБ» / "1.5 KB". */
export function fmtSize(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return "";
  const en = getLang() === "en";
  const units = en ? ["B", "KB", "MB", "GB"] : ["Б", "КБ", "МБ", "ГБ"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  const digits = i === 0 || v >= 10 ? 0 : 1;
  const num = new Intl.NumberFormat(en ? "en-GB" : "ru-RU", { maximumFractionDigits: digits }).format(v);
  return `${num} ${units[i]}`;
}

/** Opens an image full size in a dialog; a click anywhere or Escape closes it. */
export function openLightbox(src, alt) {
  const img = h("img", { src, alt: alt || "", class: "lightbox-image", testid: "lightbox-image" });
  const closeBtn = h("button", { type: "button", class: "button small lightbox-close", testid: "lightbox-close" }, t("media.close"));
  const dlg = modal({ title: alt || t("media.kind.image"), testid: "lightbox", body: [h("div", { class: "lightbox-body" }, img), h("div", { class: "dialog-actions" }, h("a", { href: src, download: alt || "", class: "button small" }, t("media.download")), closeBtn)] });
  dlg.el.classList.add("lightbox");
  closeBtn.addEventListener("click", () => dlg.close());
  img.addEventListener("click", () => dlg.close());
  dlg.el.addEventListener("click", (e) => {
    if (e.target === dlg.el) dlg.close();
  });
  dlg.open();
  closeBtn.focus();
  return dlg;
}

function fileLabel(a) {
  return a.file_name || t(`media.kind.${a.kind}`);
}

/** One file of a message. */
export function attachmentEl(a) {
  const common = { class: `attachment attachment-${a.kind}`, testid: "attachment", "data-kind": a.kind, "data-state": a.state, "data-attachment-id": String(a.id) };
  if (a.state === "pending") {
    return h("div", { ...common, class: `${common.class} attachment-wait` }, h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { testid: "attachment-pending" }, t("media.pending")), a.file_name ? h("span", { class: "muted small" }, ` · ${a.file_name}`) : null);
  }
  if (a.state === "failed") {
    return h("div", { ...common, class: `${common.class} attachment-failed`, role: "note" }, h("span", { "aria-hidden": "true" }, "⚠ "), h("span", { testid: "attachment-failed" }, t("media.failed")), a.file_name ? h("span", { class: "muted small" }, ` · ${a.file_name}`) : null);
  }
  const url = a.url;
  switch (a.kind) {
    case "image":
    case "sticker": {
      const alt = a.file_name || t(`media.kind.${a.kind}`);
      const img = h("img", { src: url, alt, loading: "lazy", class: a.kind === "sticker" ? "media-sticker" : "media-image", testid: "attachment-image" });
      return h("div", common, h("button", { type: "button", class: "media-thumb", testid: "attachment-open", title: t("media.open_full"), "aria-label": `${t("media.open_full")}: ${alt}`, onClick: () => openLightbox(url, alt) }, img));
    }
    case "video":
      return h("div", common, h("video", { src: url, controls: true, preload: "metadata", class: "media-video", testid: "attachment-video", "aria-label": fileLabel(a) }));
    case "audio":
    case "voice":
      return h(
        "div",
        common,
        a.kind === "voice" ? h("span", { class: "muted small media-caption-kind" }, t("media.kind.voice")) : null,
        h("audio", { src: url, controls: true, preload: "metadata", class: "media-audio", testid: "attachment-audio", "aria-label": fileLabel(a) }),
      );
    default:
      return h(
        "div",
        common,
        h(
          "a",
          { href: url, download: a.file_name || "", class: "media-document", testid: "attachment-document" },
          h("span", { class: "doc-icon", "aria-hidden": "true" }, icon("doc", 22)),
          h("span", { class: "doc-name", testid: "attachment-name" }, fileLabel(a)),
          a.size ? h("span", { class: "doc-size muted small", testid: "attachment-size" }, fmtSize(a.size)) : null,
        ),
      );
  }
}

/** The OpenStreetMap link of a point. */
export function osmUrl(lat, lon) {
  return `https://www.openstreetmap.org/?mlat=${encodeURIComponent(lat)}&mlon=${encodeURIComponent(lon)}#map=16/${encodeURIComponent(lat)}/${encodeURIComponent(lon)}`;
}

function locationEl(loc) {
  const lat = Number(loc.latitude);
  const lon = Number(loc.longitude);
  const ok = Number.isFinite(lat) && Number.isFinite(lon);
  return h(
    "div",
    { class: "location-card", testid: "location-card" },
    h("span", { class: "loc-pin", "aria-hidden": "true" }, icon("pin", 22)),
    h(
      "div",
      {},
      h("div", { class: "loc-name", testid: "location-name" }, loc.name || t("media.location")),
      loc.address ? h("div", { class: "loc-address muted small", testid: "location-address" }, loc.address) : null,
      ok ? h("div", { class: "muted small" }, `${lat.toFixed(5)}, ${lon.toFixed(5)}`) : null,
      ok ? h("a", { href: osmUrl(lat, lon), target: "_blank", rel: "noopener noreferrer", testid: "location-link" }, t("media.open_map")) : null,
    ),
  );
}

function contactName(c) {
  if (typeof c.name === "string") return c.name;
  if (c.name && typeof c.name === "object") return c.name.formatted_name || [c.name.first_name, c.name.last_name].filter(Boolean).join(" ");
  return "";
}

function contactEl(c) {
  const phones = (Array.isArray(c.phones) ? c.phones : []).map((p) => (typeof p === "string" ? p : p && (p.phone || p.wa_id))).filter(Boolean);
  return h(
    "div",
    { class: "shared-contact", testid: "shared-contact" },
    h("span", { class: "loc-pin", "aria-hidden": "true" }, icon("person", 22)),
    h(
      "div",
      {},
      h("div", { class: "loc-name", testid: "shared-contact-name" }, contactName(c) || t("media.contact")),
      phones.map((p) => h("div", {}, h("a", { href: `tel:${p.replace(/[^\d+]/g, "")}`, testid: "shared-contact-phone" }, p))),
    ),
  );
}

/** The files, location and contact cards of a message (nothing when it has none). */
export function mediaOf(m) {
  const out = [];
  for (const a of Array.isArray(m.attachments) ? m.attachments : []) out.push(attachmentEl(a));
  const d = m.details || {};
  if (d.location) out.push(locationEl(d.location));
  if (Array.isArray(d.contacts)) for (const c of d.contacts) out.push(contactEl(c));
  return out.length ? h("div", { class: "msg-media" }, out) : null;
}

/** What identifies a message's media for re-rendering. */
export function mediaSig(m) {
  const files = (m.attachments || []).map((a) => `${a.id}:${a.state}:${a.url || ""}`).join(",");
  return `${files}|${m.details ? JSON.stringify(m.details) : ""}`;
}

/** A chosen file before it is sent: its name, size and (for images) a small preview. */
export function filePreview(file, onRemove) {
  const { kind } = fileLimit(file);
  let thumb = null;
  if (kind === "image" || kind === "sticker") {
    thumb = h("img", { class: "file-thumb", alt: "", testid: "file-preview-image" });
    const reader = new FileReader();
    reader.onload = () => (thumb.src = String(reader.result));
    reader.readAsDataURL(file);
  }
  return h(
    "div",
    { class: "file-preview", testid: "file-preview" },
    thumb || h("span", { class: "doc-icon", "aria-hidden": "true" }, icon(kind === "audio" ? "audio" : kind === "video" ? "video" : "doc", 28)),
    h("div", { class: "file-preview-text" }, h("div", { class: "doc-name", testid: "file-preview-name" }, file.name || t(`media.kind.${kind}`)), h("div", { class: "muted small" }, `${t(`media.kind.${kind}`)} · ${fmtSize(file.size)}`), h("div", { class: "hint" }, t("media.caption_hint"))),
    h("button", { type: "button", class: "button small ghost", testid: "file-remove", "aria-label": t("media.remove_file"), onClick: onRemove }, "×"),
  );
}

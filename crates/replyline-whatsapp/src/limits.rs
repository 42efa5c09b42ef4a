//! Meta's limits on what a business may send: the media types WhatsApp takes,
//! their largest sizes, and the longest caption.
//!
//! See "Supported media types" of the Cloud API reference; the sizes are MiB.

use std::fmt;

/// The longest caption of an image, video or document, in characters.
pub const MAX_CAPTION_CHARS: usize = 1024;

const MIB: u64 = 1024 * 1024;
const KIB: u64 = 1024;

/// What WhatsApp would send a file as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboundKind {
    /// `image`, `video`, `audio`, `document` or `sticker`.
    pub kind: &'static str,
    /// The largest file of that kind, in bytes.
    pub limit: u64,
}

/// Why a file cannot be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The file is larger than WhatsApp takes for its kind.
    #[error("{kind} files may be at most {} (this file is {})", human_size(*limit), human_size(*size))]
    TooLarge {
        kind: &'static str,
        limit: u64,
        size: u64,
    },
    /// WhatsApp does not take files of this type.
    #[error("WhatsApp does not take files of type {0}")]
    UnsupportedType(String),
}

/// The types WhatsApp takes, by kind, with the kind's limit.
const KINDS: &[(&str, u64, &[&str])] = &[
    ("image", 5 * MIB, &["image/jpeg", "image/png"]),
    ("video", 16 * MIB, &["video/mp4", "video/3gpp"]),
    (
        "audio",
        16 * MIB,
        &[
            "audio/aac",
            "audio/amr",
            "audio/mpeg",
            "audio/mp4",
            "audio/ogg",
        ],
    ),
    ("sticker", 500 * KIB, &["image/webp"]),
    (
        "document",
        100 * MIB,
        &[
            "application/pdf",
            "text/plain",
            "text/csv",
            "application/zip",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/vnd.oasis.opendocument.presentation",
            "application/rtf",
        ],
    ),
];

/// The largest file WhatsApp takes of any kind (documents), in bytes.
pub const MAX_OUTBOUND_BYTES: u64 = 100 * MIB;

/// The type without parameters, lowercased: `Image/JPEG; q=1` → `image/jpeg`.
fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// What a file of type `mime` and `size` bytes is sent as, or why it cannot be.
///
/// # Errors
/// [`LimitError::UnsupportedType`] for a type WhatsApp does not take,
/// [`LimitError::TooLarge`] for a file over its kind's limit.
pub fn classify_outbound(mime: &str, size: u64) -> Result<OutboundKind, LimitError> {
    let mime = essence(mime);
    let (kind, limit, _) = KINDS
        .iter()
        .find(|(_, _, types)| types.contains(&mime.as_str()))
        .ok_or_else(|| LimitError::UnsupportedType(mime.clone()))?;
    if size > *limit {
        return Err(LimitError::TooLarge {
            kind,
            limit: *limit,
            size,
        });
    }
    Ok(OutboundKind {
        kind,
        limit: *limit,
    })
}

/// Whether a caption fits WhatsApp's limit.
pub fn caption_fits(caption: &str) -> bool {
    caption.chars().count() <= MAX_CAPTION_CHARS
}

/// `5 MB`, `500 KB`, `1234 bytes`.
pub fn human_size(bytes: u64) -> String {
    HumanSize(bytes).to_string()
}

struct HumanSize(u64);

impl fmt::Display for HumanSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b >= MIB && b.is_multiple_of(MIB) {
            write!(f, "{} MB", b / MIB)
        } else if b >= MIB {
            write!(f, "{:.1} MB", b as f64 / MIB as f64)
        } else if b >= KIB && b.is_multiple_of(KIB) {
            write!(f, "{} KB", b / KIB)
        } else {
            write!(f, "{b} bytes")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_limit() {
        for (mime, kind, limit) in [
            ("image/jpeg", "image", 5 * MIB),
            ("image/png", "image", 5 * MIB),
            ("video/mp4", "video", 16 * MIB),
            ("video/3gpp", "video", 16 * MIB),
            ("audio/ogg", "audio", 16 * MIB),
            ("audio/mpeg", "audio", 16 * MIB),
            ("image/webp", "sticker", 500 * KIB),
            ("application/pdf", "document", 100 * MIB),
            ("text/csv", "document", 100 * MIB),
            (
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "document",
                100 * MIB,
            ),
        ] {
            assert_eq!(
                classify_outbound(mime, limit),
                Ok(OutboundKind { kind, limit }),
                "{mime} at its limit"
            );
            assert_eq!(
                classify_outbound(mime, limit + 1),
                Err(LimitError::TooLarge {
                    kind,
                    limit,
                    size: limit + 1
                }),
                "{mime} one byte over"
            );
        }
    }

    #[test]
    fn types_are_compared_without_case_or_parameters() {
        assert_eq!(
            classify_outbound("Image/JPEG", 10).map(|k| k.kind),
            Ok("image")
        );
        assert_eq!(
            classify_outbound("text/plain; charset=utf-8", 10).map(|k| k.kind),
            Ok("document")
        );
    }

    #[test]
    fn types_whatsapp_does_not_take_are_refused() {
        for mime in [
            "image/gif",
            "image/svg+xml",
            "application/x-msdownload",
            "text/html",
            "",
        ] {
            assert_eq!(
                classify_outbound(mime, 1),
                Err(LimitError::UnsupportedType(mime.to_owned())),
                "{mime}"
            );
        }
    }

    #[test]
    fn the_error_names_the_limit() {
        let err = classify_outbound("image/png", 6 * MIB).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image files may be at most 5 MB (this file is 6 MB)"
        );
        let err = classify_outbound("image/webp", 600 * KIB).unwrap_err();
        assert!(err.to_string().contains("500 KB"), "{err}");
    }

    #[test]
    fn captions_up_to_1024_characters_fit() {
        assert!(caption_fits(&"я".repeat(1024)));
        assert!(!caption_fits(&"я".repeat(1025)));
        assert_eq!(MAX_OUTBOUND_BYTES, 100 * MIB);
    }
}

//! WhatsApp Business Cloud API protocol: webhook signature and handshake,
//! webhook parsing and the Graph API send client.
//!
//! This crate knows nothing about storage or the engine; see
//! `docs/channels.md` for the protocol facts it implements.

pub mod handshake;
pub mod limits;
pub mod media;
pub mod send;
pub mod signature;
pub mod templates;
pub mod webhook;

pub use handshake::{HandshakeError, verify_subscription};
pub use send::{
    ErrorClass, GraphClient, OutgoingBody, OutgoingMessage, SendError, SentMessage, classify,
    classify_status_errors, messages_url, request_body,
};
pub use signature::{SIGNATURE_HEADER, SignatureError, sign, verify_signature};
pub use webhook::{
    Change, DeliveryStatus, InboundMessage, MessageKind, ParseError, ProviderError, StatusUpdate,
    UnknownDeliveryStatus, Webhook, parse_webhook,
};

/// The HTTP client crate [`GraphClient`] is built on, for building its `reqwest::Client`.
pub use reqwest;

//! Test support for Replyline's black-box end-to-end suite, whose tests live in
//! the `replyline` package (`crates/replyline/tests/`).
//!
//! The suite runs the real `replyline serve` binary (cargo builds it before the
//! package's integration tests; `REPLYLINE_BIN` points elsewhere) against a
//! temporary SQLite database with the manual clock, a fake WhatsApp Graph API
//! ([`FakeGraph`]) and signed webhooks, and checks only what `shared/API.md`
//! and `shared/SPEC.md` promise.

pub mod api;
pub mod browser;
pub mod fake_graph;
pub mod fake_graph_media;
pub mod fake_graph_templates;
pub mod poll;
pub mod s3;
pub mod server;
pub mod setup;
pub mod tmpfs;
pub mod webhook;

pub use api::{Api, FormPart, Resp, StatusCode, expect_error, expect_status, multipart_form};
pub use fake_graph::{Failure, FakeGraph, Outcome, Recorded};
pub use server::{Clock, Server, ServerOpts};
pub use setup::{Env, Person};

//! `replyline demo`: a server, a fake WhatsApp Graph API and a customer, all in one process.

use crate::ServerError;

/// Runs the demo until the process is stopped.
pub async fn run() -> Result<(), ServerError> {
    Err(ServerError::Setup("demo not implemented yet".into()))
}

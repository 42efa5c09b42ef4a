//! WhatsApp webhook bodies (`replyline_whatsapp::parse_webhook`): any bytes parse or fail
//! cleanly, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(webhook) = replyline_whatsapp::parse_webhook(data) {
        // Everything parsed must be printable (the driver logs and stores it).
        let _ = format!("{webhook:?}");
    }
});

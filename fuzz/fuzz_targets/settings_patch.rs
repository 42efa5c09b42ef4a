//! Settings patches (`PUT /api/v1/channels/{id}/settings`): `Settings::from_partial` and
//! `patched`, then `Policy::new` (templates, working hours, time zones) on anything that
//! parses. Never a panic; a compiled policy's settings serialize and parse back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replyline_engine::{Policy, Settings};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(patch) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(settings) = Settings::from_partial(&patch) else {
        let _ = Settings::default().patched(&patch);
        return;
    };
    let _ = settings.patched(&patch);
    if let Ok(policy) = Policy::new(settings.clone(), |id| id.as_str().len() % 2 == 0) {
        let stored = serde_json::to_value(policy.settings()).expect("settings serialize");
        let again = Settings::from_partial(&stored).expect("stored settings parse back");
        assert_eq!(&again, policy.settings());
    }
});

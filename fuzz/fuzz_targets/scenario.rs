//! Scenario files (`replyline simulate FILE`): `Scenario::parse` on any text, and a run of
//! every scenario that parses. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scenario) = replyline_sim::Scenario::parse(source) {
        let _ = replyline_sim::simulate(&scenario);
    }
});

//! Delivery status ranking: a status is never downgraded.

use replyline_whatsapp::DeliveryStatus::{self, Delivered, Failed, Queued, Read, Sent};

#[test]
fn never_downgrades() {
    // expected[old][new]: does `new` replace a stored `old`?
    let order = [Queued, Sent, Delivered, Failed, Read];
    let expected = [
        //  queued sent  deliv  failed read
        [false, true, true, true, true],     // queued
        [false, false, true, true, true],    // sent
        [false, false, false, true, true],   // delivered
        [false, false, false, false, true],  // failed
        [false, false, false, false, false], // read
    ];
    for (i, old) in order.iter().enumerate() {
        for (j, new) in order.iter().enumerate() {
            assert_eq!(old.advances(*new), expected[i][j], "{old} -> {new}");
            if old.advances(*new) {
                assert!(!new.advances(*old), "{new} -> {old} would be a downgrade");
            }
        }
    }
    assert_eq!(DeliveryStatus::ALL, order);
    assert!(!Failed.advances(Delivered), "late delivered keeps failed");
    assert!(
        !Read.advances(Failed),
        "failed after read does not downgrade"
    );
}

#[test]
fn names_round_trip() {
    for status in DeliveryStatus::ALL {
        assert_eq!(status.as_str().parse::<DeliveryStatus>(), Ok(status));
        assert_eq!(DeliveryStatus::from_webhook(status.as_str()), Some(status));
    }
    assert_eq!(DeliveryStatus::from_webhook("played"), Some(Read));
    assert_eq!(DeliveryStatus::from_webhook("RINGING"), None);
    assert!("played".parse::<DeliveryStatus>().is_err());
}

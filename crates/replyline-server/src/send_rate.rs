//! Providers' send rate limits per channel (WhatsApp: 80 messages per second
//! per number by default): a sliding one-second window of send starts.
//!
//! Real time, not the product clock: a provider counts seconds as they pass,
//! while the manual clock of a test or demo may stand still or jump. The
//! outbox asks before claiming a row ([`SendRates::gate`], through
//! [`replyline_store::SendGate`]), so a channel at its limit keeps its rows
//! pending (never in flight, never "delivery unknown" after a crash) and
//! never holds back another channel's rows.

use crate::channel::WhatsappConfig;
use replyline_store::{Channel, Id, SendGate};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// The window a limit counts sends in.
const WINDOW: Duration = Duration::from_secs(1);

/// Send starts of the last second, per channel.
#[derive(Debug, Default)]
pub struct SendRates {
    channels: HashMap<Id, Starts>,
}

#[derive(Debug, Default)]
struct Starts {
    /// The channel's limit when last asked (a settings change applies at once).
    limit: usize,
    /// Oldest first; none older than [`WINDOW`].
    at: VecDeque<Instant>,
}

impl Starts {
    fn forget_before(&mut self, now: Instant) {
        while self.at.front().is_some_and(|t| *t + WINDOW <= now) {
            self.at.pop_front();
        }
    }

    fn is_full(&self) -> bool {
        self.at.len() >= self.limit
    }

    /// The starts still inside the window at `now`, oldest first.
    fn live(&self, now: Instant) -> impl Iterator<Item = Instant> + '_ {
        self.at.iter().copied().filter(move |t| *t + WINDOW > now)
    }
}

impl SendRates {
    /// A gate for one claim at `now`.
    pub fn gate(&mut self, now: Instant) -> Gate<'_> {
        for starts in self.channels.values_mut() {
            starts.forget_before(now);
        }
        self.channels.retain(|_, s| !s.at.is_empty());
        Gate { rates: self, now }
    }

    /// Whether one more send of `channel` (allowed `limit` per second) may
    /// start at `now`; if so, it is counted.
    pub fn admit(&mut self, channel: Id, limit: u32, now: Instant) -> bool {
        let starts = self.channels.entry(channel).or_default();
        starts.limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        starts.forget_before(now);
        if starts.is_full() {
            return false;
        }
        starts.at.push_back(now);
        true
    }

    /// Channels at their limit at `now`.
    pub fn closed(&self, now: Instant) -> Vec<Id> {
        self.channels
            .iter()
            .filter(|(_, s)| s.live(now).count() >= s.limit)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The first instant after `now` at which a channel now at its limit may send again.
    pub fn next_opening(&self, now: Instant) -> Option<Instant> {
        self.channels
            .values()
            .filter_map(|s| {
                let live: Vec<Instant> = s.live(now).collect();
                // The start that must leave the window for one more to fit.
                let excess = (live.len() + 1).checked_sub(s.limit)?;
                live.get(excess.checked_sub(1)?).map(|t| *t + WINDOW)
            })
            .min()
    }
}

/// [`SendRates`] as the store's [`SendGate`] for one claim.
pub struct Gate<'a> {
    rates: &'a mut SendRates,
    now: Instant,
}

impl SendGate for Gate<'_> {
    fn closed(&self) -> Vec<Id> {
        self.rates.closed(self.now)
    }

    fn admit(&mut self, channel: &Channel) -> bool {
        let limit = WhatsappConfig::messages_per_second_of(channel);
        self.rates.admit(channel.id, limit, self.now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_channel_sends_its_limit_per_second_and_no_more() {
        let mut rates = SendRates::default();
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(rates.admit(1, 3, t0 + ms(i * 10)), "send {i}");
        }
        assert!(!rates.admit(1, 3, t0 + ms(500)));
        assert_eq!(rates.closed(t0 + ms(500)), vec![1]);
        // the first start leaves the window one second after it began
        assert_eq!(rates.next_opening(t0 + ms(500)), Some(t0 + ms(1000)));
        assert!(!rates.admit(1, 3, t0 + ms(999)));
        assert!(rates.admit(1, 3, t0 + ms(1000)));
        assert!(!rates.admit(1, 3, t0 + ms(1005)));
        assert!(rates.admit(1, 3, t0 + ms(1010)));
    }

    #[test]
    fn a_full_channel_does_not_close_another() {
        let mut rates = SendRates::default();
        let t0 = Instant::now();
        assert!(rates.admit(1, 1, t0));
        assert!(!rates.admit(1, 1, t0));
        assert!(rates.admit(2, 1, t0));
        let mut closed = rates.closed(t0);
        closed.sort_unstable();
        assert_eq!(closed, vec![1, 2]);
        assert!(rates.closed(t0 + WINDOW).is_empty());
        assert_eq!(rates.next_opening(t0 + WINDOW), None);
    }

    #[test]
    fn a_lower_limit_applies_at_once() {
        let mut rates = SendRates::default();
        let t0 = Instant::now();
        for i in 0..4 {
            assert!(rates.admit(1, 80, t0 + ms(i)));
        }
        // lowered to 2 per second: the third of the four leaving the window opens it
        assert!(!rates.admit(1, 2, t0 + ms(10)));
        assert_eq!(rates.next_opening(t0 + ms(10)), Some(t0 + ms(1002)));
        assert!(rates.admit(1, 2, t0 + ms(1003)));
    }

    #[test]
    fn a_gate_forgets_channels_that_sent_nothing_for_a_second() {
        let mut rates = SendRates::default();
        let t0 = Instant::now();
        assert!(rates.admit(7, 1, t0));
        assert_eq!(rates.gate(t0).closed(), vec![7]);
        assert!(rates.gate(t0 + WINDOW).closed().is_empty());
        assert!(rates.channels.is_empty());
    }
}

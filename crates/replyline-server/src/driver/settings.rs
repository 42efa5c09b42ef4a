//! Settings changes, applied to a channel's open conversations in chunks.
//!
//! The change itself commits with the first [`SETTINGS_CHUNK`] conversations;
//! the rest follow one chunk per turn of the driver's loop, each its own short
//! transaction, so a channel with 100,000 open conversations never blocks
//! webhook acknowledgements for seconds. The backlog (`settings_backlog`: the
//! last conversation done) commits with each chunk and survives a restart. A
//! conversation touched before its chunk reaches it (a message, a deadline, an
//! employee's action) is re-settled on the spot, at the change's instant, and
//! its chunk then skips it (unless that commit failed: then the chunk redoes it).

use super::{ChannelRt, Driver, DriverError, Row, Step, decode, event};
use jiff::Timestamp;
use replyline_engine::{Conversation, Input, Policy, Team};
use replyline_store::{
    Commit, ConversationRecord, ConversationWrite, Id, NewEvent, SettingsWrite, Settling,
    SettlingWrite,
};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;

/// Conversations re-settled per transaction.
pub(super) const SETTINGS_CHUNK: i64 = 500;

/// A settings change still being applied to a channel.
pub(super) struct Backlog {
    pub(super) settling: Settling,
    /// Conversations above the cursor already re-settled on the spot.
    pub(super) early: HashSet<Id>,
}

/// The timeline entry of a re-settled conversation.
fn settings_event(employee: Option<Id>, at: Timestamp) -> NewEvent {
    NewEvent {
        at: Some(at),
        ..event(
            "settings_changed",
            json!({"employee_id": employee.map(|e| e.to_string())}),
        )
    }
}

impl Driver {
    /// Loads the unfinished settings backlogs (at start).
    pub(super) async fn load_settling(&mut self) -> Result<(), DriverError> {
        self.settling = self
            .store
            .settling()
            .await?
            .into_iter()
            .map(|settling| {
                (
                    settling.channel_id,
                    Backlog {
                        settling,
                        early: HashSet::new(),
                    },
                )
            })
            .collect();
        Ok(())
    }

    /// Validates and applies a settings patch; the channel's open
    /// conversations follow in chunks. Answers the full new settings.
    pub(super) async fn change_settings(
        &mut self,
        channel_id: Id,
        employee: Id,
        patch: &Value,
    ) -> Result<Value, DriverError> {
        let rt = self.channel(channel_id).await?;
        let team = self.team().await?;
        let old = rt.policy.settings().clone();
        let new = old.patched(patch)?;
        let policy = Policy::new(new.clone(), |id| team.get(id).is_some())?;
        let now = self.clock.now();
        let new_json = serde_json::to_value(&new).unwrap_or(Value::Null);
        let mut channel = rt.channel.clone();
        channel.settings = new_json.clone();
        let new_rt = Arc::new(ChannelRt {
            channel,
            policy,
            kind: rt.kind,
            phone_number_id: rt.phone_number_id.clone(),
        });
        let mut commit = Commit::new(now);
        commit.settings = Some(SettingsWrite {
            channel_id,
            employee_id: Some(employee),
            old: serde_json::to_value(&old).unwrap_or(Value::Null),
            new: new_json.clone(),
        });
        let settling = Settling {
            channel_id,
            after_id: 0,
            changed_at: now,
            employee_id: Some(employee),
        };
        let backlog = Backlog {
            settling,
            early: HashSet::new(),
        };
        let next = self
            .settle_chunk(&new_rt, &team, &backlog, &mut commit)
            .await?;
        self.commit(commit).await?;
        self.channels.insert(channel_id, new_rt);
        self.keep_backlog(backlog, next);
        Ok(new_json)
    }

    /// One chunk of the first unfinished settings backlog; true when more is left.
    pub(super) async fn settle_next(&mut self) -> Result<bool, DriverError> {
        let Some(channel_id) = self.settling.keys().next().copied() else {
            return Ok(false);
        };
        let Some(backlog) = self.settling.remove(&channel_id) else {
            return Ok(false);
        };
        let now = self.clock.now();
        let mut commit = Commit::new(now);
        let next = match self.channel(channel_id).await {
            Ok(rt) => {
                let team = self.team().await?;
                self.settle_chunk(&rt, &team, &backlog, &mut commit).await?
            }
            // A deleted channel has nothing left to re-settle.
            Err(DriverError::NotFound(_)) => {
                commit.settling = Some(SettlingWrite {
                    channel_id,
                    after_id: None,
                    changed_at: backlog.settling.changed_at,
                    employee_id: backlog.settling.employee_id,
                });
                None
            }
            Err(err) => {
                self.settling.insert(channel_id, backlog);
                return Err(err);
            }
        };
        if let Err(err) = self.commit(commit).await {
            self.settling.insert(channel_id, backlog);
            return Err(err);
        }
        self.keep_backlog(backlog, next);
        Ok(!self.settling.is_empty())
    }

    /// Keeps a backlog that has more to do, moved past `next`.
    fn keep_backlog(&mut self, mut backlog: Backlog, next: Option<Id>) {
        let channel_id = backlog.settling.channel_id;
        match next {
            Some(after_id) => {
                backlog.settling.after_id = after_id;
                backlog.early.retain(|id| *id > after_id);
                self.settling.insert(channel_id, backlog);
            }
            None => {
                self.settling.remove(&channel_id);
            }
        }
    }

    /// Adds the next chunk of `backlog` to `commit` with the backlog's new
    /// cursor; the cursor when more is left, `None` when this was the last.
    async fn settle_chunk(
        &self,
        rt: &ChannelRt,
        team: &Team,
        backlog: &Backlog,
        commit: &mut Commit,
    ) -> Result<Option<Id>, DriverError> {
        let s = &backlog.settling;
        let chunk = self
            .store
            .open_conversations_after(s.channel_id, s.after_id, SETTINGS_CHUNK)
            .await?;
        let full = chunk.len() as i64 == SETTINGS_CHUNK;
        let next = chunk.last().map(|r| r.id).filter(|_| full);
        for record in chunk.iter().filter(|r| !backlog.early.contains(&r.id)) {
            let Ok(mut engine) = decode(&record.state) else {
                continue;
            };
            commit
                .conversations
                .push(self.settled_write(rt, team, record, &mut engine, s));
        }
        commit.settling = Some(SettlingWrite {
            channel_id: s.channel_id,
            after_id: next,
            changed_at: s.changed_at,
            employee_id: s.employee_id,
        });
        Ok(next)
    }

    /// A conversation re-settled under the channel's current settings.
    fn settled_write(
        &self,
        rt: &ChannelRt,
        team: &Team,
        record: &ConversationRecord,
        engine: &mut Conversation,
        s: &Settling,
    ) -> ConversationWrite {
        let ctx = self.context(rt, team, record.contact.name.as_deref());
        let _ = engine.handle(s.changed_at, Input::SettingsChanged, &ctx);
        let row = Row {
            id: Some(record.id),
            channel_id: record.channel_id,
            contact_id: record.contact.id,
        };
        let step = Step::new(vec![], vec![settings_event(s.employee_id, s.changed_at)]);
        self.write(row, engine, step, s.changed_at).0
    }

    /// Forgets which conversations were re-settled on the spot: after a
    /// failed commit they may not be stored as such, so their chunks redo them.
    pub(super) fn forget_early(&mut self) {
        for backlog in self.settling.values_mut() {
            backlog.early.clear();
        }
    }

    /// Re-settles a conversation its backlog has not reached yet, before
    /// anything else happens to it; the timeline entry to write, if it did.
    pub(super) fn settle_early(
        &mut self,
        rt: &ChannelRt,
        team: &Team,
        conversation_id: Id,
        contact_name: Option<&str>,
        engine: &mut Conversation,
    ) -> Option<NewEvent> {
        let backlog = self.settling.get(&rt.channel.id)?;
        let s = &backlog.settling;
        if conversation_id <= s.after_id || backlog.early.contains(&conversation_id) {
            return None;
        }
        let (changed_at, employee) = (s.changed_at, s.employee_id);
        let ctx = self.context(rt, team, contact_name);
        let _ = engine.handle(changed_at, Input::SettingsChanged, &ctx);
        if let Some(backlog) = self.settling.get_mut(&rt.channel.id) {
            backlog.early.insert(conversation_id);
        }
        Some(settings_event(employee, changed_at))
    }
}

//! The conversations of one commit written with multi-row statements: a
//! round of a hundred conversations costs a handful of statements per kind of
//! row, not several per conversation.
//!
//! New rows' ids come back from `RETURNING id`. SQLite does not promise the
//! order of RETURNING rows, but a rowid table gives each inserted row a larger
//! rowid than the last (one writer, inside one transaction), so the returned
//! ids sorted ascending are the rows in the order of `VALUES`.

use crate::model::{ConversationWrite, NewEvent, NewMessage};
use crate::sqlite::{conflict, insert_attachment, ms, ms_ceil};
use crate::{StoreError, StoreResult};
use jiff::Timestamp;
use serde_json::Value;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::collections::HashMap;

type Tx<'a> = Transaction<'a, Sqlite>;

/// Rows per statement, well under SQLite's 32,766 bound variables.
const ROWS_PER_INSERT: usize = 256;

/// What [`write_conversations`] assigned: per write, in order, the
/// conversation id and its new message ids; and how many outbox rows it queued.
pub(crate) struct Written {
    pub conversations: Vec<(i64, Vec<i64>)>,
    pub queued: usize,
}

/// Writes every conversation of a commit: contacts, conversations, messages,
/// attachments, outbox rows, timeline events, notifications and CRM events.
pub(crate) async fn write_conversations(
    tx: &mut Tx<'_>,
    writes: &[ConversationWrite],
    now: Timestamp,
    crm: bool,
) -> StoreResult<Written> {
    let contacts = upsert_contacts(tx, writes).await?;
    let contact_ids: Vec<i64> = writes
        .iter()
        .map(|w| match &w.contact {
            Some(c) => contacts[&(w.channel_id, c.address.clone())],
            None => w.contact_id,
        })
        .collect();
    let ids = write_conversation_rows(tx, writes, &contact_ids, now).await?;
    let message_ids = insert_messages(tx, writes, &ids, now).await?;
    let mut queued = 0;
    let mut outbox = Vec::new();
    for (i, w) in writes.iter().enumerate() {
        for (m, &message_id) in w.messages.iter().zip(&message_ids[i]) {
            if let Some(a) = &m.attachment {
                insert_attachment(tx, a, message_id, ids[i], w, &m.direction, now).await?;
            }
            if m.send {
                outbox.push((message_id, w.channel_id, contact_ids[i]));
            }
        }
    }
    queued += outbox.len();
    insert_outbox(tx, &outbox, now).await?;
    let events: Vec<(i64, &NewEvent)> = writes
        .iter()
        .zip(&ids)
        .flat_map(|(w, &id)| w.events.iter().map(move |e| (id, e)))
        .collect();
    insert_events(tx, &events, now).await?;
    for (i, w) in writes.iter().enumerate() {
        insert_notifications(tx, ids[i], w, now).await?;
        if crm {
            crate::sqlite_delivery::on_conversation_write(tx, ids[i], w, &message_ids[i], now)
                .await?;
        }
    }
    Ok(Written {
        conversations: ids.into_iter().zip(message_ids).collect(),
        queued,
    })
}

/// The contacts the writes name, created or updated in one statement per
/// chunk: an edited name is kept, the last inbound instant only moves forward.
async fn upsert_contacts(
    tx: &mut Tx<'_>,
    writes: &[ConversationWrite],
) -> StoreResult<HashMap<(i64, String), i64>> {
    let mut upserts: Vec<(i64, &crate::model::ContactUpsert)> = Vec::new();
    for w in writes {
        if let Some(c) = &w.contact
            && !upserts
                .iter()
                .any(|(ch, u)| *ch == w.channel_id && u.address == c.address)
        {
            upserts.push((w.channel_id, c));
        }
    }
    let mut ids = HashMap::with_capacity(upserts.len());
    for chunk in upserts.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO contacts (channel_id, address, name, last_inbound_at) ",
        );
        insert.push_values(chunk, |mut row, (channel_id, c)| {
            row.push_bind(*channel_id)
                .push_bind(&c.address)
                .push_bind(&c.name)
                .push_bind(c.inbound_at.map(ms));
        });
        insert.push(
            " ON CONFLICT (channel_id, address) DO UPDATE SET name = CASE WHEN contacts.name_edited = 1 \
             THEN contacts.name ELSE COALESCE(excluded.name, contacts.name) END, \
             last_inbound_at = MAX(COALESCE(contacts.last_inbound_at, 0), COALESCE(excluded.last_inbound_at, 0)) \
             RETURNING id, channel_id, address",
        );
        for row in insert.build().fetch_all(&mut **tx).await? {
            ids.insert(
                (row.try_get("channel_id")?, row.try_get("address")?),
                row.try_get("id")?,
            );
        }
    }
    Ok(ids)
}

/// Updates the existing conversations and inserts the new ones; every write's id, in order.
async fn write_conversation_rows(
    tx: &mut Tx<'_>,
    writes: &[ConversationWrite],
    contact_ids: &[i64],
    now: Timestamp,
) -> StoreResult<Vec<i64>> {
    let existing: Vec<&ConversationWrite> = writes.iter().filter(|w| w.id.is_some()).collect();
    for chunk in existing.chunks(ROWS_PER_INSERT) {
        let mut update = QueryBuilder::<Sqlite>::new(
            "UPDATE conversations SET status = v.column2, assignee_id = v.column3, waiting_since = v.column4, \
             closed_at = v.column5, last_message_at = COALESCE(v.column6, last_message_at), state = v.column7, \
             due_at = v.column8 FROM (",
        );
        update.push_values(chunk, |mut row, w| {
            row.push_bind(w.id)
                .push_bind(&w.status)
                .push_bind(w.assignee_id)
                .push_bind(w.waiting_since.map(ms))
                .push_bind(w.closed_at.map(ms))
                .push_bind(w.last_message_at.map(ms))
                .push_bind(&w.state)
                .push_bind(w.due_at.map(ms_ceil));
        });
        update.push(") AS v WHERE conversations.id = v.column1");
        update.build().execute(&mut **tx).await?;
    }
    let fresh: Vec<(&ConversationWrite, i64)> = writes
        .iter()
        .zip(contact_ids)
        .filter(|(w, _)| w.id.is_none())
        .map(|(w, &c)| (w, c))
        .collect();
    let mut new_ids = Vec::with_capacity(fresh.len());
    for chunk in fresh.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO conversations (channel_id, contact_id, status, assignee_id, waiting_since, opened_at, \
             closed_at, last_message_at, state, due_at) ",
        );
        insert.push_values(chunk, |mut row, (w, contact_id)| {
            row.push_bind(w.channel_id)
                .push_bind(*contact_id)
                .push_bind(&w.status)
                .push_bind(w.assignee_id)
                .push_bind(w.waiting_since.map(ms))
                // Opened when its first message happened (a client message's arrival).
                .push_bind(ms(w.messages.first().and_then(|m| m.at).unwrap_or(now)))
                .push_bind(w.closed_at.map(ms))
                .push_bind(w.last_message_at.map(ms))
                .push_bind(&w.state)
                .push_bind(w.due_at.map(ms_ceil));
        });
        insert.push(" RETURNING id");
        new_ids.extend(returned_ids(tx, insert, chunk.len()).await?);
    }
    let mut new_ids = new_ids.into_iter();
    writes
        .iter()
        .map(|w| match w.id {
            Some(id) => Ok(id),
            None => new_ids.next().ok_or(StoreError::NotFound),
        })
        .collect()
}

/// Every write's messages, in order; their ids per write.
async fn insert_messages(
    tx: &mut Tx<'_>,
    writes: &[ConversationWrite],
    conversation_ids: &[i64],
    now: Timestamp,
) -> StoreResult<Vec<Vec<i64>>> {
    let rows: Vec<(i64, i64, &NewMessage)> = writes
        .iter()
        .zip(conversation_ids)
        .flat_map(|(w, &id)| w.messages.iter().map(move |m| (id, w.channel_id, m)))
        .collect();
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO messages (conversation_id, channel_id, direction, kind, text, template, template_language, \
             employee_id, status, error, provider_id, media_id, content_type, created_at, updated_at, mentions, payload) ",
        );
        insert.push_values(chunk, |mut row, (conversation_id, channel_id, m)| {
            let at = ms(m.at.unwrap_or(now));
            row.push_bind(*conversation_id)
                .push_bind(*channel_id)
                .push_bind(&m.direction)
                .push_bind(&m.kind)
                .push_bind(&m.text)
                .push_bind(&m.template)
                .push_bind(&m.template_language)
                .push_bind(m.employee_id)
                .push_bind(&m.status)
                .push_bind(&m.error)
                .push_bind(&m.provider_id)
                .push_bind(&m.media_id)
                .push_bind(&m.content_type)
                .push_bind(at)
                .push_bind(at)
                .push_bind(
                    (!m.mentions.is_empty()).then(|| Value::from(m.mentions.clone()).to_string()),
                )
                .push_bind(m.payload.as_ref().map(Value::to_string));
        });
        insert.push(" RETURNING id");
        ids.extend(returned_ids(tx, insert, chunk.len()).await?);
    }
    let mut ids = ids.into_iter();
    Ok(writes
        .iter()
        .map(|w| ids.by_ref().take(w.messages.len()).collect())
        .collect())
}

/// Runs a multi-row insert ending in `RETURNING id`; the ids in `VALUES` order.
async fn returned_ids(
    tx: &mut Tx<'_>,
    mut insert: QueryBuilder<'_, Sqlite>,
    rows: usize,
) -> StoreResult<Vec<i64>> {
    let mut ids: Vec<i64> = insert
        .build_query_scalar()
        .fetch_all(&mut **tx)
        .await
        .map_err(conflict)?;
    if ids.len() != rows {
        return Err(StoreError::Corrupt(format!(
            "an insert of {rows} rows returned {} ids",
            ids.len()
        )));
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Outbox rows for the messages to send: `(message, channel, contact)`.
async fn insert_outbox(
    tx: &mut Tx<'_>,
    rows: &[(i64, i64, i64)],
    now: Timestamp,
) -> StoreResult<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO outbox (message_id, channel_id, contact_id, state, next_attempt_at, created_at) ",
        );
        insert.push_values(chunk, |mut row, (message_id, channel_id, contact_id)| {
            row.push_bind(*message_id)
                .push_bind(*channel_id)
                .push_bind(*contact_id)
                .push_bind("pending")
                .push_bind(ms(now))
                .push_bind(ms(now));
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Timeline entries `(conversation, event)`, in order.
async fn insert_events(
    tx: &mut Tx<'_>,
    events: &[(i64, &NewEvent)],
    now: Timestamp,
) -> StoreResult<()> {
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (conversation_id, at, type, rule, outcome, reason, data) ",
        );
        insert.push_values(chunk, |mut row, (conversation_id, e)| {
            row.push_bind(*conversation_id)
                .push_bind(ms(e.at.unwrap_or(now)))
                .push_bind(&e.kind)
                .push_bind(&e.rule)
                .push_bind(&e.outcome)
                .push_bind(&e.reason)
                .push_bind(e.data.as_ref().map(Value::to_string));
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// A write's manager notifications and their deliveries (rare: one statement each).
async fn insert_notifications(
    tx: &mut Tx<'_>,
    conversation_id: i64,
    w: &ConversationWrite,
    now: Timestamp,
) -> StoreResult<()> {
    for n in &w.notifications {
        let notification_id: i64 = sqlx::query_scalar(
            "INSERT INTO notifications (conversation_id, reason, employee_id, manager_id, wait_started_at, \
             waited_seconds, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(conversation_id)
        .bind(&n.reason)
        .bind(n.employee_id)
        .bind(n.manager_id)
        .bind(ms(n.wait_started_at))
        .bind(n.waited_seconds)
        .bind(&n.text)
        .bind(ms(now))
        .fetch_one(&mut **tx)
        .await?;
        crate::sqlite_delivery::on_notification(tx, notification_id, conversation_id, n, now)
            .await?;
    }
    Ok(())
}

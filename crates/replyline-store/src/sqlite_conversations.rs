//! SQLite side of the inbox: the conversation listing (visibility, filters and
//! cursor paging in one query), the per-page extras (last message, the reader's
//! unread count, labels) batched for the page's ids, read marks, labels and
//! observers.

use crate::model::*;
use crate::sqlite::{CONVERSATION_SELECT, conversation, ms, ts};
use crate::workspace::fold_key as fold;
use crate::{StoreResult, Visibility};
use jiff::Timestamp;
use sqlx::sqlite::SqlitePool;
use sqlx::{Row, Sqlite, Transaction};
use std::collections::HashMap;

/// The listing's order key (alias `c`): the last message's time, else the opening time.
const ACTIVITY: &str = "COALESCE(c.last_message_at, c.opened_at)";

/// A value bound to a dynamically built query.
enum Arg {
    Int(i64),
    Text(String),
}

fn id_list(ids: &[Id]) -> String {
    ids.iter().map(Id::to_string).collect::<Vec<_>>().join(",")
}

/// An FTS5 query matching every word of `q` as a prefix in the contact's name
/// or address; `None` when `q` has no word. The words and terms are the
/// search's ([`crate::workspace::query_words`]: quoted, «ё» folded like the index).
pub(crate) fn contact_fts_query(q: &str) -> Option<String> {
    let words = crate::workspace::query_words(q);
    let terms: Vec<String> = words
        .iter()
        .map(|w| crate::workspace::prefix_term(w))
        .collect();
    (!terms.is_empty()).then(|| format!("{{name address}} : ({})", terms.join(" AND ")))
}

/// The digits of a query that looks like a phone number (3 or more digits and
/// nothing but digits, spaces, `+`, `-`, parentheses), matched anywhere in the address.
fn phone_digits(q: &str) -> Option<String> {
    let phone_like = q
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'));
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    (phone_like && digits.len() >= 3).then_some(digits)
}

/// Every stored spelling of `label` (compared case-insensitively).
async fn spellings(pool: &SqlitePool, label: &str) -> StoreResult<Vec<String>> {
    let all: Vec<String> = sqlx::query_scalar("SELECT DISTINCT label FROM conversation_labels")
        .fetch_all(pool)
        .await?;
    let wanted = fold(label.trim());
    Ok(all.into_iter().filter(|l| fold(l) == wanted).collect())
}

/// The WHERE clause and its arguments for a listing query.
async fn conditions(pool: &SqlitePool, q: &ConversationQuery) -> StoreResult<(String, Vec<Arg>)> {
    let mut sql = vec![q.visibility.sql_condition()];
    let mut args = Vec::new();
    if let Some(status) = &q.status {
        sql.push("c.status = ?".into());
        args.push(Arg::Text(status.clone()));
    }
    for (column, value) in [
        ("c.channel_id", q.channel_id),
        ("c.assignee_id", q.assignee_id),
        ("c.contact_id", q.contact_id),
    ] {
        if let Some(v) = value {
            sql.push(format!("{column} = ?"));
            args.push(Arg::Int(v));
        }
    }
    if let Some(ids) = &q.assignee_in {
        sql.push(if ids.is_empty() {
            "1=0".into()
        } else {
            format!("c.assignee_id IN ({})", id_list(ids))
        });
    }
    if q.unassigned {
        sql.push("c.assignee_id IS NULL".into());
    }
    if let Some(me) = q.observed_by {
        sql.push(format!(
            "EXISTS (SELECT 1 FROM conversation_observers o WHERE o.conversation_id = c.id AND o.employee_id = {me})"
        ));
    }
    if let Some(label) = &q.label {
        let names = spellings(pool, label).await?;
        if names.is_empty() {
            sql.push("1=0".into());
        } else {
            let marks = vec!["?"; names.len()].join(",");
            sql.push(format!(
                "EXISTS (SELECT 1 FROM conversation_labels l WHERE l.conversation_id = c.id AND l.label IN ({marks}))"
            ));
            args.extend(names.into_iter().map(Arg::Text));
        }
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let mut any = Vec::new();
        if let Some(fts) = contact_fts_query(text) {
            any.push("c.contact_id IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?)");
            args.push(Arg::Text(fts));
        }
        if let Some(digits) = phone_digits(text) {
            any.push("instr(k.address, ?) > 0");
            args.push(Arg::Text(digits));
        }
        sql.push(if any.is_empty() {
            "1=0".into()
        } else {
            format!("({})", any.join(" OR "))
        });
    }
    if let Some(after) = q.after {
        let op = if q.oldest_first { ">" } else { "<" };
        sql.push(format!(
            "({ACTIVITY} {op} ? OR ({ACTIVITY} = ? AND c.id {op} ?))"
        ));
        args.extend([
            Arg::Int(after.activity_ms),
            Arg::Int(after.activity_ms),
            Arg::Int(after.id),
        ]);
    }
    Ok((sql.join(" AND "), args))
}

/// One page of [`ConversationQuery`]: one query (a row more than the page, to
/// know whether another follows), then the page's observers in one more.
pub(crate) async fn list(
    pool: &SqlitePool,
    q: &ConversationQuery,
) -> StoreResult<ConversationPage> {
    let (cond, args) = conditions(pool, q).await?;
    let dir = if q.oldest_first { "ASC" } else { "DESC" };
    let limit = q.limit.map(|l| l.max(1));
    let mut sql =
        format!("{CONVERSATION_SELECT} WHERE {cond} ORDER BY {ACTIVITY} {dir}, c.id {dir}");
    if let Some(limit) = limit {
        sql.push_str(&format!(" LIMIT {}", limit + 1));
    }
    let mut query = sqlx::query(&sql);
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
        };
    }
    let rows = query.fetch_all(pool).await?;
    let mut rows: Vec<ConversationRecord> =
        rows.iter().map(conversation).collect::<StoreResult<_>>()?;
    let mut next = None;
    if let Some(limit) = limit
        && rows.len() as i64 > limit
    {
        rows.truncate(limit as usize);
        next = rows.last().map(ConversationRecord::cursor);
    }
    fill_observers(pool, &mut rows).await?;
    Ok(ConversationPage { rows, next })
}

/// Loads the observers of `rows` in one query.
pub(crate) async fn fill_observers(
    pool: &SqlitePool,
    rows: &mut [ConversationRecord],
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<Id> = rows.iter().map(|r| r.id).collect();
    let sql = format!(
        "SELECT conversation_id, employee_id FROM conversation_observers \
         WHERE conversation_id IN ({}) ORDER BY conversation_id, employee_id",
        id_list(&ids)
    );
    let pairs: Vec<(Id, Id)> = sqlx::query_as(&sql).fetch_all(pool).await?;
    let mut by_conversation: HashMap<Id, Vec<Id>> = HashMap::new();
    for (conversation_id, employee_id) in pairs {
        by_conversation
            .entry(conversation_id)
            .or_default()
            .push(employee_id);
    }
    for row in rows {
        row.observer_ids = by_conversation.remove(&row.id).unwrap_or_default();
    }
    Ok(())
}

/// Last message, `reader`'s unread count and labels of each conversation in
/// `ids`: three queries whatever the number of ids.
pub(crate) async fn extras(
    pool: &SqlitePool,
    ids: &[Id],
    reader: Id,
) -> StoreResult<HashMap<Id, ConversationExtras>> {
    let mut out: HashMap<Id, ConversationExtras> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = id_list(ids);
    let sql = format!(
        "SELECT c.id, \
         (SELECT m.id FROM messages m WHERE m.conversation_id = c.id AND m.status != 'skipped' \
          ORDER BY m.id DESC LIMIT 1) AS last_id, \
         (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in' \
          AND m.kind = 'client' AND m.id > COALESCE((SELECT r.last_read_message_id FROM conversation_reads r \
          WHERE r.conversation_id = c.id AND r.employee_id = ?), 0)) AS unread \
         FROM conversations c WHERE c.id IN ({list})"
    );
    let rows = sqlx::query(&sql).bind(reader).fetch_all(pool).await?;
    let mut last_ids = Vec::new();
    for row in rows {
        let id: Id = row.try_get("id")?;
        if let Some(last) = row.try_get::<Option<Id>, _>("last_id")? {
            last_ids.push(last);
        }
        out.entry(id).or_default().unread = row.try_get("unread")?;
    }
    if !last_ids.is_empty() {
        let sql = format!(
            "SELECT id, conversation_id, kind, direction, text, content_type, created_at FROM messages WHERE id IN ({})",
            id_list(&last_ids)
        );
        for row in sqlx::query(&sql).fetch_all(pool).await? {
            let conversation_id: Id = row.try_get("conversation_id")?;
            out.entry(conversation_id).or_default().last_message = Some(LastMessage {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                direction: row.try_get("direction")?,
                text: row.try_get("text")?,
                content_type: row.try_get("content_type")?,
                created_at: ts(row.try_get("created_at")?)?,
            });
        }
    }
    let sql = format!(
        "SELECT conversation_id, label FROM conversation_labels WHERE conversation_id IN ({list})"
    );
    let labels: Vec<(Id, String)> = sqlx::query_as(&sql).fetch_all(pool).await?;
    for (conversation_id, label) in labels {
        out.entry(conversation_id).or_default().labels.push(label);
    }
    for extra in out.values_mut() {
        extra.labels.sort_by_key(|l| fold(l));
    }
    Ok(out)
}

/// Moves `employee`'s read mark of a conversation to `message_id` (default: its
/// latest message), never backwards; the mark after the move.
pub(crate) async fn mark_read(
    writer: &SqlitePool,
    conversation_id: Id,
    employee_id: Id,
    message_id: Option<Id>,
) -> StoreResult<Option<Id>> {
    let target: Option<Id> = match message_id {
        Some(id) => Some(id),
        None => {
            sqlx::query_scalar("SELECT MAX(id) FROM messages WHERE conversation_id = ?")
                .bind(conversation_id)
                .fetch_one(writer)
                .await?
        }
    };
    let Some(target) = target else {
        return Ok(None);
    };
    let mark: Id = sqlx::query_scalar(
        "INSERT INTO conversation_reads (conversation_id, employee_id, last_read_message_id) VALUES (?, ?, ?) \
         ON CONFLICT (conversation_id, employee_id) DO UPDATE SET \
         last_read_message_id = MAX(last_read_message_id, excluded.last_read_message_id) \
         RETURNING last_read_message_id",
    )
    .bind(conversation_id)
    .bind(employee_id)
    .bind(target)
    .fetch_one(writer)
    .await?;
    Ok(Some(mark))
}

/// Replaces a conversation's labels. A label spelled differently (by case) on
/// another conversation takes that spelling, so one label has one spelling;
/// duplicates (by case) are dropped. Returns the labels, sorted.
pub(crate) async fn set_labels(
    writer: &SqlitePool,
    conversation_id: Id,
    labels: &[String],
) -> StoreResult<Vec<String>> {
    let mut tx = writer.begin().await?;
    let others: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT label FROM conversation_labels WHERE conversation_id != ?",
    )
    .bind(conversation_id)
    .fetch_all(&mut *tx)
    .await?;
    let known: HashMap<String, String> = others.into_iter().map(|l| (fold(&l), l)).collect();
    let mut chosen: Vec<String> = Vec::new();
    for label in labels {
        let label = label.trim();
        let key = fold(label);
        if chosen.iter().any(|c| fold(c) == key) {
            continue;
        }
        chosen.push(known.get(&key).cloned().unwrap_or_else(|| label.to_owned()));
    }
    sqlx::query("DELETE FROM conversation_labels WHERE conversation_id = ?")
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
    for label in &chosen {
        sqlx::query(
            "INSERT OR IGNORE INTO conversation_labels (conversation_id, label) VALUES (?, ?)",
        )
        .bind(conversation_id)
        .bind(label)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    chosen.sort_by_key(|l| fold(l));
    Ok(chosen)
}

/// Every label in use on a conversation `visibility` allows, once (by case), sorted.
pub(crate) async fn labels(pool: &SqlitePool, visibility: &Visibility) -> StoreResult<Vec<String>> {
    let sql = format!(
        "SELECT l.label, COUNT(*) AS uses FROM conversation_labels l JOIN conversations c ON c.id = l.conversation_id \
         WHERE {} GROUP BY l.label ORDER BY uses DESC, l.label",
        visibility.sql_condition()
    );
    let rows: Vec<(String, i64)> = sqlx::query_as(&sql).fetch_all(pool).await?;
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = rows
        .into_iter()
        .filter(|(l, _)| seen.insert(fold(l)))
        .map(|(l, _)| l)
        .collect();
    out.sort_by_key(|l| fold(l));
    Ok(out)
}

/// Writes new observers in a commit's transaction (already observing is fine).
pub(crate) async fn write_observers(
    tx: &mut Transaction<'_, Sqlite>,
    observers: &[ObserverWrite],
    now: Timestamp,
) -> StoreResult<()> {
    for o in observers {
        sqlx::query(
            "INSERT INTO conversation_observers (conversation_id, employee_id, added_by, added_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (conversation_id, employee_id) DO NOTHING",
        )
        .bind(o.conversation_id)
        .bind(o.employee_id)
        .bind(o.added_by)
        .bind(ms(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Stops `employee` observing a conversation; false when they did not.
pub(crate) async fn remove_observer(
    writer: &SqlitePool,
    conversation_id: Id,
    employee_id: Id,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "DELETE FROM conversation_observers WHERE conversation_id = ? AND employee_id = ?",
    )
    .bind(conversation_id)
    .bind(employee_id)
    .execute(writer)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The conversations `employee` observes.
pub(crate) async fn observed(pool: &SqlitePool, employee_id: Id) -> StoreResult<Vec<Id>> {
    Ok(sqlx::query_scalar(
        "SELECT conversation_id FROM conversation_observers WHERE employee_id = ? ORDER BY conversation_id",
    )
    .bind(employee_id)
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_queries_quote_every_word_as_a_prefix() {
        assert_eq!(
            contact_fts_query("Пётр  \"Ив").as_deref(),
            Some("{name address} : (\"петр\"* AND \"ив\"*)")
        );
        assert_eq!(contact_fts_query(" + - "), None);
        assert_eq!(phone_digits("+7 (900) 12").as_deref(), Some("790012"));
        assert_eq!(phone_digits("Анна 900"), None);
        assert_eq!(phone_digits("12"), None);
    }
}

//! The workspace's contacts, search, quick replies and audit log: rows and the [`WorkspaceStore`] trait.
//!
//! Every read that depends on what the caller may see takes a [`Visibility`]
//! and filters with it inside the query, so a limit never hides visible rows
//! and nothing invisible is ever returned or counted.

use crate::{Id, StoreResult, Visibility};
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::{Map, Value};

/// A contact card: the contact with what its visible conversations add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactCard {
    pub id: Id,
    pub channel_id: Id,
    pub name: Option<String>,
    pub address: String,
    pub note: Option<String>,
    /// An employee named the contact: the messenger's profile name no longer overwrites it.
    pub name_edited: bool,
    /// Labels of its visible conversations, case-insensitively distinct, sorted.
    pub labels: Vec<String>,
    /// Its conversations the caller may see.
    pub conversations_count: i64,
    /// The client's latest message.
    pub last_seen_at: Option<Timestamp>,
}

/// A contact change: `None` keeps a field, `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactPatch {
    /// A new name marks the contact `name_edited`; clearing it gives the name
    /// back to the messenger profile.
    pub name: Option<Option<String>>,
    pub note: Option<Option<String>>,
}

/// A message found by search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageHit {
    pub id: Id,
    pub conversation_id: Id,
    pub contact_id: Id,
    pub kind: String,
    pub text: String,
    /// Plain text around the first matching word, at most [`SNIPPET_CHARS`] characters.
    pub snippet: String,
    pub created_at: Timestamp,
}

/// What a search found, newest first in each list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchResults {
    pub messages: Vec<MessageHit>,
    pub contacts: Vec<ContactCard>,
}

/// A quick reply («шаблон сообщения»).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuickReply {
    pub id: Id,
    pub owner_id: Id,
    /// Seen by everyone; otherwise by its owner only.
    pub shared: bool,
    pub title: String,
    pub text: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new quick reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewQuickReply {
    pub owner_id: Id,
    pub shared: bool,
    pub title: String,
    pub text: String,
}

/// A quick reply change: `None` keeps a field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuickReplyPatch {
    pub title: Option<String>,
    pub text: Option<String>,
    pub shared: Option<bool>,
}

/// A new audit entry: who changed what, old → new (secrets already masked).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditEntry {
    pub employee_id: Option<Id>,
    /// `channel`, `employee`, `group`, `routing_rules` or `members`.
    pub entity: String,
    pub entity_id: Option<String>,
    /// `create`, `update`, `delete` or `replace`.
    pub action: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// An audit entry as listed; settings changes are listed as entity `settings`.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// In the order things happened; also the `before` cursor of the next page.
    pub id: Id,
    pub at: Timestamp,
    pub employee_id: Option<Id>,
    pub entity: String,
    pub entity_id: Option<String>,
    pub action: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// The longest search snippet, in characters.
pub const SNIPPET_CHARS: usize = 160;
/// The most words of a search query that are used.
pub const MAX_QUERY_WORDS: usize = 16;

/// Folds text the way the full-text indexes store it: «ё» → «е» (the tokenizer
/// folds case and Latin diacritics itself).
pub fn fold_yo(text: &str) -> String {
    text.replace('ё', "е").replace('Ё', "Е")
}

/// The key labels and names compare by: Unicode lower case with «ё» as «е».
pub fn fold_key(text: &str) -> String {
    fold_yo(&text.to_lowercase())
}

/// The words of a query as the tokenizer sees them: runs of letters and digits.
pub fn query_words(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_QUERY_WORDS)
        .map(fold_key)
        .collect()
}

/// One query word as an FTS5 prefix term: quoted, so it is only text.
pub fn prefix_term(word: &str) -> String {
    format!("\"{}\"*", word.replace('"', "\"\""))
}

/// An FTS5 query from user text: every word quoted and matched as a prefix,
/// all words required. No FTS syntax from the user reaches the engine
/// (operators, quotes and parentheses are separators). `None` when the text
/// has no words.
pub fn fts_query(q: &str) -> Option<String> {
    let words = query_words(q);
    if words.is_empty() {
        return None;
    }
    Some(
        words
            .iter()
            .map(|w| prefix_term(w))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Plain text of at most [`SNIPPET_CHARS`] characters around the first word of
/// `text` that starts with one of `words` (as [`query_words`] gives them);
/// the start of the text when none does. Cut ends are marked with «…».
pub fn snippet(text: &str, words: &[String]) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= SNIPPET_CHARS {
        return text.to_owned();
    }
    let hit = first_match(&chars, words).unwrap_or(0);
    // Some context before the match, the rest after it.
    let budget = SNIPPET_CHARS - 2;
    let mut start = hit.saturating_sub(budget / 4);
    let end = (start + budget).min(chars.len());
    start = end.saturating_sub(budget).min(start);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&chars[start..end]);
    if end < chars.len() {
        out.push('…');
    }
    out
}

/// The char index of the first word starting with one of `words`.
fn first_match(chars: &[char], words: &[String]) -> Option<usize> {
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_alphanumeric() {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let folded = fold_yo(&word.to_lowercase());
        if words.iter().any(|w| folded.starts_with(w.as_str())) {
            return Some(start);
        }
    }
    None
}

/// The changed top-level groups of two JSON objects: `(old, new)` holding only
/// the keys whose values differ. Non-objects are returned whole.
pub fn changed_groups(old: &Value, new: &Value) -> (Value, Value) {
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return (old.clone(), new.clone());
    };
    let mut old_out = Map::new();
    let mut new_out = Map::new();
    for key in o.keys().chain(n.keys().filter(|k| !o.contains_key(*k))) {
        let (a, b) = (o.get(key), n.get(key));
        if a != b {
            old_out.insert(key.clone(), a.cloned().unwrap_or(Value::Null));
            new_out.insert(key.clone(), b.cloned().unwrap_or(Value::Null));
        }
    }
    (Value::Object(old_out), Value::Object(new_out))
}

/// Contacts, search, quick replies and the audit log.
#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// A contact as `visibility` sees it; `None` when it does not exist or none
    /// of its conversations is visible.
    async fn contact_card(
        &self,
        id: Id,
        visibility: &Visibility,
    ) -> StoreResult<Option<ContactCard>>;
    /// Changes a contact's name and/or note; `NotFound` when there is none.
    async fn patch_contact(&self, id: Id, patch: &ContactPatch) -> StoreResult<()>;

    /// Messages and contacts matching every word of `q` (as word prefixes),
    /// only within `visibility`, at most `limit` of each, newest first.
    async fn search(
        &self,
        q: &str,
        visibility: &Visibility,
        limit: i64,
    ) -> StoreResult<SearchResults>;

    /// The shared quick replies and `viewer`'s own, by title.
    async fn quick_replies(&self, viewer: Id) -> StoreResult<Vec<QuickReply>>;
    async fn quick_reply(&self, id: Id) -> StoreResult<Option<QuickReply>>;
    async fn create_quick_reply(
        &self,
        new: &NewQuickReply,
        now: Timestamp,
    ) -> StoreResult<QuickReply>;
    /// `NotFound` when there is none.
    async fn update_quick_reply(
        &self,
        id: Id,
        patch: &QuickReplyPatch,
        now: Timestamp,
    ) -> StoreResult<QuickReply>;
    /// False when there was none.
    async fn delete_quick_reply(&self, id: Id) -> StoreResult<bool>;

    /// Appends an audit entry.
    async fn append_audit(&self, entry: &NewAuditEntry, now: Timestamp) -> StoreResult<()>;
    /// Audit entries (settings changes included), newest first, older than
    /// the entry `before` (the first page when `None`).
    async fn audit(&self, limit: i64, before: Option<Id>) -> StoreResult<Vec<AuditEntry>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queries_quote_every_word_as_a_prefix() {
        assert_eq!(
            fts_query("Доставка ЗАВТРА").as_deref(),
            Some("\"доставка\"* \"завтра\"*")
        );
        assert_eq!(
            fts_query("\"a\" OR (b* NEAR c) -d ^e").as_deref(),
            Some("\"a\"* \"or\"* \"b\"* \"near\"* \"c\"* \"d\"* \"e\"*")
        );
        assert_eq!(fts_query("Ёлка").as_deref(), Some("\"елка\"*"));
        assert_eq!(fts_query("  \"* ( ) : "), None);
    }

    #[test]
    fn snippets_surround_the_first_match() {
        let words = query_words("ёлк");
        assert_eq!(snippet("short елка", &words), "short елка");
        let text = format!("{} Ёлка {}", "а".repeat(300), "б".repeat(300));
        let s = snippet(&text, &words);
        assert!(s.chars().count() <= SNIPPET_CHARS, "{}", s.chars().count());
        assert!(s.contains("Ёлка"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        let none = snippet(&"в".repeat(500), &words);
        assert!(!none.starts_with('…') && none.ends_with('…'));
        assert_eq!(none.chars().count(), SNIPPET_CHARS - 1);
    }

    #[test]
    fn changed_groups_keep_only_differences() {
        let (o, n) = changed_groups(
            &json!({"a": 1, "b": {"x": 1}, "c": 3}),
            &json!({"a": 1, "b": {"x": 2}, "d": 4}),
        );
        assert_eq!(o, json!({"b": {"x": 1}, "c": 3, "d": null}));
        assert_eq!(n, json!({"b": {"x": 2}, "c": null, "d": 4}));
    }
}

//! Workspace store tests (real SQLite): an edited contact name survives the
//! messenger's profile name, quick replies, the audit log with settings
//! changes merged in and paged by cursor.

mod support;

use replyline_store::*;
use serde_json::json;
use std::sync::Arc;
use support::{store_with_channel, t};

async fn store() -> (tempfile::TempDir, Arc<dyn Store>, Id) {
    let dir = tempfile::tempdir().unwrap();
    let (store, channel) = store_with_channel(dir.path(), "w.db").await;
    (dir, store, channel)
}

async fn employee(store: &dyn Store, login: &str) -> Id {
    let new = NewEmployee {
        email: format!("{login}@example.com"),
        name: login.into(),
        role: "employee".into(),
        ..NewEmployee::default()
    };
    store.create_employee(new, t(0)).await.unwrap().id
}

#[tokio::test]
async fn an_edited_name_survives_the_profile_name_and_clearing_gives_it_back() {
    let (_dir, store, channel) = store().await;
    let c = store
        .upsert_contact(channel, "79001112233", Some("Profile"), Some(t(1)))
        .await
        .unwrap();
    assert_eq!(c.name.as_deref(), Some("Profile"));
    // Before any edit the profile name follows the messenger.
    let c = store
        .upsert_contact(channel, "79001112233", Some("Profile 2"), Some(t(2)))
        .await
        .unwrap();
    assert_eq!(c.name.as_deref(), Some("Profile 2"));
    let patch = ContactPatch {
        name: Some(Some("Анна Петрова".into())),
        note: Some(Some("VIP, ёлки по пятницам".into())),
    };
    store.patch_contact(c.id, &patch).await.unwrap();
    let c = store
        .upsert_contact(channel, "79001112233", Some("Profile 3"), Some(t(3)))
        .await
        .unwrap();
    assert_eq!(c.name.as_deref(), Some("Анна Петрова"));
    // Clearing the name hands it back to the profile.
    let clear = ContactPatch {
        name: Some(None),
        note: None,
    };
    store.patch_contact(c.id, &clear).await.unwrap();
    let c = store
        .upsert_contact(channel, "79001112233", Some("Profile 4"), Some(t(4)))
        .await
        .unwrap();
    assert_eq!(c.name.as_deref(), Some("Profile 4"));
    assert!(matches!(
        store.patch_contact(999_999, &patch).await,
        Err(StoreError::NotFound)
    ));
    // A contact without a visible conversation has no card, even for admins.
    assert!(
        store
            .contact_card(c.id, &Visibility::everything())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn quick_replies_list_shared_and_own_by_title() {
    let (_dir, store, _) = store().await;
    let anna = employee(store.as_ref(), "anna").await;
    let boris = employee(store.as_ref(), "boris").await;
    let new = |owner, shared, title: &str| NewQuickReply {
        owner_id: owner,
        shared,
        title: title.into(),
        text: format!("{title} text"),
    };
    let mine = store
        .create_quick_reply(&new(anna, false, "Ценник"), t(1))
        .await
        .unwrap();
    store
        .create_quick_reply(&new(boris, true, "адрес"), t(1))
        .await
        .unwrap();
    store
        .create_quick_reply(&new(boris, false, "Boris only"), t(1))
        .await
        .unwrap();
    let titles = |list: Vec<QuickReply>| list.into_iter().map(|q| q.title).collect::<Vec<_>>();
    assert_eq!(
        titles(store.quick_replies(anna).await.unwrap()),
        ["адрес", "Ценник"]
    );
    assert_eq!(
        titles(store.quick_replies(boris).await.unwrap()),
        ["Boris only", "адрес"]
    );
    let patch = QuickReplyPatch {
        text: Some("new".into()),
        shared: Some(true),
        ..QuickReplyPatch::default()
    };
    let updated = store
        .update_quick_reply(mine.id, &patch, t(5))
        .await
        .unwrap();
    assert_eq!(
        (updated.title.as_str(), updated.text.as_str()),
        ("Ценник", "new")
    );
    assert!(updated.shared);
    assert_eq!(updated.updated_at, t(5));
    assert_eq!(updated.created_at, t(1));
    assert!(store.delete_quick_reply(mine.id).await.unwrap());
    assert!(!store.delete_quick_reply(mine.id).await.unwrap());
    assert!(matches!(
        store.update_quick_reply(mine.id, &patch, t(6)).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn the_audit_merges_settings_changes_newest_first_with_a_cursor() {
    let (_dir, store, channel) = store().await;
    let admin = employee(store.as_ref(), "root").await;
    // The settings change happens between the second and the third entry.
    for i in 0..3 {
        if i == 2 {
            let mut commit = Commit::new(t(15));
            commit.settings = Some(SettingsWrite {
                channel_id: channel,
                employee_id: Some(admin),
                old: json!({"greeting": {"enabled": false}, "closing": {"enabled": true}}),
                new: json!({"greeting": {"enabled": true}, "closing": {"enabled": true}}),
            });
            store.commit(commit).await.unwrap();
        }
        let entry = NewAuditEntry {
            employee_id: Some(admin),
            entity: "employee".into(),
            entity_id: Some(i.to_string()),
            action: "update".into(),
            old: Some(json!({"name": format!("old {i}")})),
            new: Some(json!({"name": format!("new {i}")})),
        };
        store.append_audit(&entry, t(10 * i)).await.unwrap();
    }

    let all = store.audit(10, None).await.unwrap();
    let order: Vec<(&str, Option<&str>)> = all
        .iter()
        .map(|e| (e.entity.as_str(), e.entity_id.as_deref()))
        .collect();
    let channel_text = channel.to_string();
    assert_eq!(
        order,
        [
            ("employee", Some("2")),
            ("settings", Some(channel_text.as_str())),
            ("employee", Some("1")),
            ("employee", Some("0")),
        ]
    );
    let settings = &all[1];
    assert_eq!(settings.action, "update");
    assert_eq!(settings.employee_id, Some(admin));
    // Only the changed groups.
    assert_eq!(settings.old, Some(json!({"greeting": {"enabled": false}})));
    assert_eq!(settings.new, Some(json!({"greeting": {"enabled": true}})));

    let first = store.audit(2, None).await.unwrap();
    assert_eq!(first, all[..2]);
    let next = store.audit(2, Some(first[1].id)).await.unwrap();
    assert_eq!(next, all[2..]);
    assert!(store.audit(2, Some(next[1].id)).await.unwrap().is_empty());
}

/// Contacts whose name, address or note match `fts` in the search index itself.
async fn indexed(dir: &tempfile::TempDir, fts: &str) -> Vec<i64> {
    let url = format!("sqlite://{}/w.db", dir.path().display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let ids = sqlx::query_scalar(
        "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ? ORDER BY rowid",
    )
    .bind(fts)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    ids
}

#[tokio::test]
async fn a_renamed_contact_is_found_by_its_new_name_only() {
    let (dir, store, channel) = store().await;
    let c = store
        .upsert_contact(channel, "79005556677", Some("Пётр"), Some(t(1)))
        .await
        .unwrap();
    // «ё» is indexed as «е».
    assert_eq!(indexed(&dir, "\"петр\"*").await, vec![c.id]);
    let patch = ContactPatch {
        name: Some(Some("Иван Сёмин".into())),
        note: Some(Some("звонить после обеда".into())),
    };
    store.patch_contact(c.id, &patch).await.unwrap();
    // The update trigger removed the old words and indexed the new ones.
    assert!(indexed(&dir, "\"петр\"*").await.is_empty());
    assert_eq!(indexed(&dir, "\"семин\"*").await, vec![c.id]);
    assert_eq!(indexed(&dir, "\"обед\"*").await, vec![c.id]);
    // A profile name arriving later does not bring the old name back.
    store
        .upsert_contact(channel, "79005556677", Some("Пётр"), Some(t(2)))
        .await
        .unwrap();
    assert!(indexed(&dir, "\"петр\"*").await.is_empty());
    assert_eq!(indexed(&dir, "\"иван\"*").await, vec![c.id]);
}

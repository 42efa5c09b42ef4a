//! Who a note mentions: the ids it names explicitly plus the `@Name` tokens of
//! its text that match an active employee's name or display name
//! (case-insensitive, the longest name first, ending at a word boundary).

use replyline_store::{Employee, Id};

/// The employees `text` and `explicit` mention, sorted, once each.
pub fn resolve(text: &str, explicit: &[Id], employees: &[Employee]) -> Vec<Id> {
    let mut names: Vec<(Vec<char>, Id)> = employees
        .iter()
        .filter(|e| e.active)
        .flat_map(|e| {
            [Some(e.name.as_str()), e.display_name.as_deref()]
                .into_iter()
                .flatten()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(move |n| (n.to_lowercase().chars().collect(), e.id))
        })
        .collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.0.len()));
    let mut found: Vec<Id> = explicit.to_vec();
    let chars: Vec<char> = text.to_lowercase().chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_token = chars[i] == '@' && (i == 0 || !chars[i - 1].is_alphanumeric());
        if starts_token && let Some((len, id)) = match_at(&chars[i + 1..], &names) {
            found.push(id);
            i += 1 + len;
            continue;
        }
        i += 1;
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// The longest name `rest` starts with, followed by a word boundary.
fn match_at(rest: &[char], names: &[(Vec<char>, Id)]) -> Option<(usize, Id)> {
    names.iter().find_map(|(name, id)| {
        let boundary = rest.get(name.len()).is_none_or(|c| !c.is_alphanumeric());
        (rest.starts_with(name) && boundary).then_some((name.len(), *id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emp(id: Id, name: &str, display: Option<&str>, active: bool) -> Employee {
        Employee {
            id,
            email: format!("{id}@x"),
            name: name.into(),
            display_name: display.map(Into::into),
            role: "employee".into(),
            manager_id: None,
            password_hash: None,
            telegram_chat_id: None,
            active,
            online: true,
            last_seen_at: None,
        }
    }

    #[test]
    fn names_match_case_insensitively_longest_first_at_word_boundaries() {
        let team = [
            emp(1, "Анна", None, true),
            emp(2, "Анна Петрова", Some("Аня"), true),
            emp(3, "Иван", None, false),
            emp(4, "Olga", None, true),
        ];
        assert_eq!(resolve("@анна петрова, глянь", &[], &team), vec![2]);
        assert_eq!(resolve("@АННА и @аня", &[], &team), vec![1, 2]);
        assert_eq!(resolve("@Иван (inactive)", &[], &team), Vec::<Id>::new());
        assert_eq!(
            resolve("mail@olga.com @Olgas", &[], &team),
            Vec::<Id>::new()
        );
        assert_eq!(resolve("@olga!", &[7], &team), vec![4, 7]);
    }
}

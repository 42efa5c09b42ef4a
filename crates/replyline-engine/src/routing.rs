//! Routing rules (SPEC §3a): keywords in the message that opens a conversation pick its assignee.
//!
//! Matching is pure: the rules are tried in priority order and the first whose
//! keyword starts a word of the text (case-insensitive, «ё» = «е») and whose
//! channel restriction allows the conversation's channel wins. Resolving a
//! group target to a person (round robin among its online members) is the
//! driver's job, because it needs live load figures.

use crate::ids::EmployeeId;

/// Who a matching rule hands the conversation to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    /// One employee.
    Employee(EmployeeId),
    /// A group of employees, by the group's id.
    Group(String),
}

/// One routing rule; its priority is its position in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingRule {
    /// The rule's stored id, echoed on the timeline.
    pub id: String,
    /// Words or phrases; any one of them matching is enough.
    pub keywords: Vec<String>,
    /// When set, the rule applies only to conversations on this channel.
    pub channel_id: Option<String>,
    pub target: RouteTarget,
}

/// The rule that won, with the keyword that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    /// Zero-based position of the rule in priority order.
    pub index: usize,
    pub rule: &'a RoutingRule,
    /// The keyword as the admin wrote it.
    pub keyword: &'a str,
}

/// The first rule (in order) that matches `text` on `channel_id`.
pub fn match_rule<'a>(
    rules: &'a [RoutingRule],
    channel_id: &str,
    text: &str,
) -> Option<RouteMatch<'a>> {
    let haystack = normalize(text);
    rules.iter().enumerate().find_map(|(index, rule)| {
        if rule.channel_id.as_deref().is_some_and(|c| c != channel_id) {
            return None;
        }
        rule.keywords
            .iter()
            .find(|keyword| matches_word_start(&haystack, &normalize(keyword)))
            .map(|keyword| RouteMatch {
                index,
                rule,
                keyword,
            })
    })
}

/// Lower case, «ё» as «е», runs of whitespace as one space, trimmed.
pub fn normalize(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = if c == 'ё' { 'е' } else { c };
        if c.is_whitespace() {
            if out.last().is_some_and(|last| *last != ' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    while out.last() == Some(&' ') {
        out.pop();
    }
    out
}

/// True when `needle` occurs in `haystack` at the start of a word.
fn matches_word_start(haystack: &[char], needle: &[char]) -> bool {
    if needle.is_empty() || needle.len() > haystack.len() {
        return false;
    }
    (0..=haystack.len() - needle.len()).any(|at| {
        let word_start = at == 0 || !haystack[at - 1].is_alphanumeric();
        word_start && haystack[at..at + needle.len()] == *needle
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        id: &str,
        keywords: &[&str],
        channel: Option<&str>,
        target: RouteTarget,
    ) -> RoutingRule {
        RoutingRule {
            id: id.into(),
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            channel_id: channel.map(str::to_owned),
            target,
        }
    }

    fn employee(id: &str) -> RouteTarget {
        RouteTarget::Employee(EmployeeId::new(id))
    }

    fn winner(rules: &[RoutingRule], channel: &str, text: &str) -> Option<String> {
        match_rule(rules, channel, text).map(|m| m.rule.id.clone())
    }

    #[test]
    fn keywords_match_word_starts_only() {
        let rules = [rule("r1", &["доставк"], None, employee("ivan"))];
        assert_eq!(winner(&rules, "1", "Где моя доставка?"), Some("r1".into()));
        assert_eq!(
            winner(&rules, "1", "Доставкой недоволен"),
            Some("r1".into())
        );
        assert_eq!(winner(&rules, "1", "(доставка)"), Some("r1".into()));
        assert_eq!(winner(&rules, "1", "передоставка"), None);
        assert_eq!(winner(&rules, "1", "Здравствуйте"), None);
    }

    #[test]
    fn case_and_yo_are_ignored() {
        let rules = [rule("r1", &["Счёт"], None, employee("ivan"))];
        assert_eq!(winner(&rules, "1", "пришлите СЧЕТ"), Some("r1".into()));
        assert_eq!(winner(&rules, "1", "счёт-фактура"), Some("r1".into()));
        let rules = [rule("r2", &["ОПЛАТА"], None, employee("ivan"))];
        assert_eq!(winner(&rules, "1", "оплата не прошла"), Some("r2".into()));
    }

    #[test]
    fn phrases_match_with_any_spacing() {
        let rules = [rule("r1", &["возврат  денег"], None, employee("ivan"))];
        assert_eq!(
            winner(&rules, "1", "Хочу\nвозврат   денег"),
            Some("r1".into())
        );
        assert_eq!(winner(&rules, "1", "возврат товара"), None);
    }

    #[test]
    fn first_matching_rule_wins() {
        let rules = [
            rule(
                "sales",
                &["цена", "купить"],
                None,
                RouteTarget::Group("7".into()),
            ),
            rule("delivery", &["доставка"], None, employee("ivan")),
        ];
        let m = match_rule(&rules, "1", "Доставка и цена?").unwrap();
        assert_eq!(
            (m.index, m.rule.id.as_str(), m.keyword),
            (0, "sales", "цена")
        );
        let reordered = [rules[1].clone(), rules[0].clone()];
        let m = match_rule(&reordered, "1", "Доставка и цена?").unwrap();
        assert_eq!(
            (m.index, m.rule.id.as_str(), m.keyword),
            (0, "delivery", "доставка")
        );
    }

    #[test]
    fn a_rule_restricted_to_a_channel_skips_others() {
        let rules = [
            rule("only2", &["доставка"], Some("2"), employee("olga")),
            rule("any", &["доставка"], None, employee("ivan")),
        ];
        assert_eq!(winner(&rules, "2", "доставка"), Some("only2".into()));
        assert_eq!(winner(&rules, "1", "доставка"), Some("any".into()));
    }

    #[test]
    fn empty_keywords_and_texts_never_match() {
        let rules = [rule("r1", &["", "   "], None, employee("ivan"))];
        assert_eq!(winner(&rules, "1", "anything"), None);
        let rules = [rule("r1", &["a"], None, employee("ivan"))];
        assert_eq!(winner(&rules, "1", ""), None);
    }
}

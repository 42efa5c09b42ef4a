//! Message templates: `{variable}` and `{variable|fallback}` substitution.

/// A variable a template may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Var {
    ClientName,
    EmployeeName,
    CompanyName,
    /// The employee's own text; only in the signature format.
    Text,
    /// Whole minutes the client has waited; only in notification texts.
    WaitedMinutes,
}

impl Var {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "client_name" => Self::ClientName,
            "employee_name" => Self::EmployeeName,
            "company_name" => Self::CompanyName,
            "text" => Self::Text,
            "waited_minutes" => Self::WaitedMinutes,
            _ => return None,
        })
    }
}

/// Values available when rendering; `None` means unknown (the fallback applies).
#[derive(Clone, Copy, Debug, Default)]
pub struct Vars<'a> {
    pub client_name: Option<&'a str>,
    pub employee_name: Option<&'a str>,
    pub company_name: Option<&'a str>,
    pub text: Option<&'a str>,
    pub waited_minutes: Option<&'a str>,
}

impl<'a> Vars<'a> {
    fn get(&self, var: Var) -> Option<&'a str> {
        match var {
            Var::ClientName => self.client_name,
            Var::EmployeeName => self.employee_name,
            Var::CompanyName => self.company_name,
            Var::Text => self.text,
            Var::WaitedMinutes => self.waited_minutes,
        }
        .filter(|value| !value.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Var { var: Var, fallback: Option<String> },
}

/// A parsed template, ready to render without re-parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// Parses `source`, accepting only the variables in `allowed`.
    ///
    /// `{{` and `}}` stand for literal braces.
    pub fn parse(source: &str, allowed: &[Var]) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = source;
        while let Some(pos) = rest.find(['{', '}']) {
            literal.push_str(&rest[..pos]);
            let brace = rest.as_bytes()[pos];
            let after = &rest[pos + 1..];
            if after.as_bytes().first() == Some(&brace) {
                literal.push(brace as char);
                rest = &after[1..];
                continue;
            }
            if brace == b'}' {
                literal.push('}');
                rest = after;
                continue;
            }
            let end = after.find('}').ok_or_else(|| {
                format!(
                    "unclosed {{ at character {}",
                    source.len() - rest.len() + pos
                )
            })?;
            let inner = &after[..end];
            let (name, fallback) = match inner.split_once('|') {
                Some((name, fallback)) => (name.trim(), Some(fallback.to_owned())),
                None => (inner.trim(), None),
            };
            let var = Var::parse(name)
                .filter(|var| allowed.contains(var))
                .ok_or_else(|| format!("unknown variable {{{name}}}"))?;
            if !literal.is_empty() {
                segments.push(Segment::Literal(std::mem::take(&mut literal)));
            }
            segments.push(Segment::Var { var, fallback });
            rest = &after[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Self { segments })
    }

    /// True when the template uses `var` somewhere.
    pub fn uses(&self, var: Var) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Var { var: v, .. } if *v == var))
    }

    /// Renders with `vars`; an unknown value takes its fallback, else nothing.
    pub fn render(&self, vars: &Vars<'_>) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Var { var, fallback } => {
                    if let Some(value) = vars.get(*var).or(fallback.as_deref()) {
                        out.push_str(value);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Var] = &[Var::ClientName, Var::EmployeeName, Var::CompanyName];

    #[test]
    fn renders_values_and_fallbacks() {
        let t = Template::parse("Здравствуйте, {client_name|клиент}! {company_name}", ALL).unwrap();
        let known = Vars {
            client_name: Some("Анна"),
            company_name: Some("Ромашка"),
            ..Vars::default()
        };
        assert_eq!(t.render(&known), "Здравствуйте, Анна! Ромашка");
        assert_eq!(t.render(&Vars::default()), "Здравствуйте, клиент! ");
    }

    #[test]
    fn rejects_unknown_and_disallowed_variables() {
        assert_eq!(
            Template::parse("Hi {client_nmae}", ALL).unwrap_err(),
            "unknown variable {client_nmae}"
        );
        assert!(Template::parse("{text}", ALL).is_err());
        assert_eq!(
            Template::parse("{waited_minutes} мин", ALL).unwrap_err(),
            "unknown variable {waited_minutes}"
        );
        assert!(Template::parse("oops {client_name", ALL).is_err());
    }

    #[test]
    fn renders_waited_minutes_when_allowed() {
        let allowed = [Var::ClientName, Var::WaitedMinutes];
        let t = Template::parse("{client_name|без имени}: {waited_minutes} мин", &allowed).unwrap();
        assert!(t.uses(Var::WaitedMinutes));
        let vars = Vars {
            waited_minutes: Some("5"),
            ..Vars::default()
        };
        assert_eq!(t.render(&vars), "без имени: 5 мин");
    }

    #[test]
    fn escaped_braces_are_literal() {
        let t = Template::parse("{{x}} }", ALL).unwrap();
        assert_eq!(t.render(&Vars::default()), "{x} }");
    }
}

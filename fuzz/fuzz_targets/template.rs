//! Message templates (`Template::parse`): any text with any set of allowed variables parses
//! or fails cleanly; a parsed template renders with and without values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replyline_engine::{Template, Var, Vars};

const ALL: [Var; 5] = [
    Var::ClientName,
    Var::EmployeeName,
    Var::CompanyName,
    Var::Text,
    Var::WaitedMinutes,
];

fuzz_target!(|data: &[u8]| {
    let Some((&mask, rest)) = data.split_first() else {
        return;
    };
    let Ok(source) = std::str::from_utf8(rest) else {
        return;
    };
    let allowed: Vec<Var> = ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, v)| *v)
        .collect();
    if let Ok(template) = Template::parse(source, &allowed) {
        let _ = template.render(&Vars::default());
        let full = template.render(&Vars {
            client_name: Some("Анна"),
            employee_name: Some("Иван"),
            company_name: Some("Ромашка"),
            text: Some(source),
            waited_minutes: Some("5"),
        });
        for var in &allowed {
            let _ = template.uses(*var);
        }
        let _ = full;
    }
});

//! Load-time diagnostics: every problem found in every rules file, with its place.

use std::fmt;

/// One problem in a rules file: where it is, which item it belongs to, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDiagnostic {
    /// The file path or label of the source ([`super::RuleSource::name`]).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The item the problem belongs to: `rule 'X'`, `macro 'Y'`, `list 'Z'`.
    pub item: Option<String>,
    pub message: String,
}

impl fmt::Display for RuleDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if let Some(item) = &self.item {
            write!(f, "{item}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// All the errors of a load, in file order. Display: one line per diagnostic.
#[derive(Debug, thiserror::Error)]
#[error("{}", render(.errors))]
pub struct RulesError {
    pub errors: Vec<RuleDiagnostic>,
}

fn render(errors: &[RuleDiagnostic]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_file_line_column_item_and_message() {
        let d = RuleDiagnostic {
            file: "rules.yaml".into(),
            line: 3,
            column: 14,
            item: Some("rule 'X'".into()),
            message: "unknown field 'ka.nope'".into(),
        };
        assert_eq!(
            d.to_string(),
            "rules.yaml:3:14: rule 'X': unknown field 'ka.nope'"
        );
        let e = RulesError {
            errors: vec![d.clone(), RuleDiagnostic { item: None, ..d }],
        };
        assert_eq!(
            e.to_string(),
            "rules.yaml:3:14: rule 'X': unknown field 'ka.nope'\nrules.yaml:3:14: unknown field 'ka.nope'"
        );
    }
}

//! A plain text table for terminal summaries.

pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
            right: vec![false; headers.len()],
        }
    }

    /// Right-align a column (numbers).
    pub fn align_right(mut self, col: usize) -> Self {
        self.right[col] = true;
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut width: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| -> String {
            let parts: Vec<String> = (0..n)
                .map(|i| {
                    let c = cells.get(i).map(String::as_str).unwrap_or("");
                    if self.right[i] {
                        format!("{c:>w$}", w = width[i])
                    } else {
                        format!("{c:<w$}", w = width[i])
                    }
                })
                .collect();
            format!("| {} |", parts.join(" | "))
        };
        let rule = format!(
            "+{}+",
            width
                .iter()
                .map(|w| "-".repeat(w + 2))
                .collect::<Vec<_>>()
                .join("+")
        );
        let mut out = vec![rule.clone(), line(&self.headers), rule.clone()];
        out.extend(self.rows.iter().map(|r| line(r)));
        out.push(rule);
        out.join("\n") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_aligned_columns() {
        let mut t = Table::new(&["what", "n"]).align_right(1);
        t.row(vec!["kept".into(), "12".into()]);
        t.row(vec!["filtered".into(), "3".into()]);
        assert_eq!(
            t.render(),
            "+----------+----+\n| what     |  n |\n+----------+----+\n| kept     | 12 |\n| filtered |  3 |\n+----------+----+\n"
        );
    }
}

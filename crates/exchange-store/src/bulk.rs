//! Many rows in one statement: the ingestion write path writes a batch per table instead of one
//! statement per effect.
//!
//! The rows become a relation `v` with named columns, which an `INSERT … SELECT` or an
//! `UPDATE … FROM` uses:
//! - PostgreSQL: one array per column, `UNNEST($1::text[], $2::int8[], …) AS v(a, b, …)`: one
//!   statement text whatever the row count (prepared once), no parameter limit;
//! - SQLite: `(SELECT column1 AS a, column2 AS b … FROM (VALUES (?, ?), …))`, in chunks that
//!   stay under SQLite's 32,766 bound parameters. The template must not use `$N` placeholders
//!   itself on SQLite.

use exchange_core::Amount;

use crate::db::{Backend, Num, Row, Tx};
use crate::error::Result;

/// SQLite: the statement's verb with `OR FAIL` instead of the default `ABORT`. `ABORT` undoes
/// just the failing statement, for which SQLite copies every page a multi-row statement touches
/// into a statement journal first; the batched writes never need that, as every error of a
/// batch's statement ends its whole transaction (the caller returns it, which rolls back). A
/// profile of the 100k benchmark: 9% less time on the SQLite thread.
fn or_fail(template: &str) -> String {
    let trimmed = template.trim_start();
    for verb in ["INSERT", "UPDATE"] {
        if let Some(rest) = trimmed.strip_prefix(verb) {
            return format!("{verb} OR FAIL{rest}");
        }
    }
    template.to_owned()
}

/// Bound parameters per SQLite statement (the limit is 32,766).
const SQLITE_PARAMETERS: usize = 30_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Int,
    Bool,
    /// An [`Amount`]: NUMERIC on PostgreSQL (sent as exact decimal text), text on SQLite.
    Num,
}

#[derive(Clone, Debug)]
pub(crate) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(bool),
    Num(Amount),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(Some(s.to_owned()))
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(Some(s))
    }
}
impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Value {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(Some(i))
    }
}
impl From<Option<i64>> for Value {
    fn from(i: Option<i64>) -> Value {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<Amount> for Value {
    fn from(a: Amount) -> Value {
        Value::Num(a)
    }
}

/// Rows of named, typed columns.
pub(crate) struct Rows {
    columns: &'static [(&'static str, Kind)],
    rows: Vec<Vec<Value>>,
}

impl Rows {
    pub(crate) fn new(columns: &'static [(&'static str, Kind)]) -> Rows {
        Rows {
            columns,
            rows: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.rows.clear();
    }

    /// Column `index` of every row, as text (for error messages and checks).
    pub(crate) fn texts(&self, index: usize) -> impl Iterator<Item = &str> {
        self.rows.iter().map(move |r| match &r[index] {
            Value::Text(Some(s)) => s.as_str(),
            _ => "",
        })
    }

    fn names(&self) -> String {
        self.columns
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Runs `template` with `{v}` replaced by the rows' relation (aliased `v`) and `{columns}`
    /// by the column names; returns the rows a `RETURNING` clause gives back, or none.
    ///
    /// On SQLite a failing statement may leave some of its rows written (see [`or_fail`]):
    /// after an error the transaction must not be committed.
    pub(crate) async fn run(&self, tx: &mut Tx, template: &str) -> Result<Vec<Row>> {
        self.statement(tx, template, template.contains("RETURNING"))
            .await
    }

    /// Runs a `SELECT` template (as [`Rows::run`] does) and returns its rows: reads keyed by
    /// the rows, in one statement.
    pub(crate) async fn fetch(&self, tx: &mut Tx, template: &str) -> Result<Vec<Row>> {
        self.statement(tx, template, true).await
    }

    async fn statement(&self, tx: &mut Tx, template: &str, returning: bool) -> Result<Vec<Row>> {
        if self.rows.is_empty() {
            return Ok(Vec::new());
        }
        let template = template.replace("{columns}", &self.names());
        let mut out = Vec::new();
        match tx.backend() {
            Backend::Postgres => {
                let sql = template.replace("{v}", &self.unnest());
                let mut query = tx.query(&sql);
                for (i, (_, kind)) in self.columns.iter().enumerate() {
                    query = match kind {
                        Kind::Text => query.bind_pg(
                            self.rows
                                .iter()
                                .map(|r| match &r[i] {
                                    Value::Text(t) => t.clone(),
                                    _ => unreachable!("a text column"),
                                })
                                .collect::<Vec<Option<String>>>(),
                        ),
                        Kind::Num => query.bind_pg(
                            self.rows
                                .iter()
                                .map(|r| match &r[i] {
                                    Value::Num(a) => a.to_string(),
                                    _ => unreachable!("an amount column"),
                                })
                                .collect::<Vec<String>>(),
                        ),
                        Kind::Int => query.bind_pg(
                            self.rows
                                .iter()
                                .map(|r| match &r[i] {
                                    Value::Int(n) => *n,
                                    _ => unreachable!("an integer column"),
                                })
                                .collect::<Vec<Option<i64>>>(),
                        ),
                        Kind::Bool => query.bind_pg(
                            self.rows
                                .iter()
                                .map(|r| match &r[i] {
                                    Value::Bool(b) => *b,
                                    _ => unreachable!("a boolean column"),
                                })
                                .collect::<Vec<bool>>(),
                        ),
                    };
                }
                if returning {
                    out = query.fetch_all().await?;
                } else {
                    query.execute().await?;
                }
            }
            Backend::Sqlite => {
                let template = or_fail(&template);
                let per_chunk = (SQLITE_PARAMETERS / self.columns.len()).max(1);
                for chunk in self.rows.chunks(per_chunk) {
                    let sql = template.replace("{v}", &self.values(chunk.len()));
                    let mut query = tx.query(&sql);
                    for row in chunk {
                        for value in row {
                            query = match value {
                                Value::Text(t) => query.bind(t.clone()),
                                Value::Int(n) => query.bind(*n),
                                Value::Bool(b) => query.bind(*b),
                                Value::Num(a) => query.bind(Num(*a)),
                            };
                        }
                    }
                    if returning {
                        out.extend(query.fetch_all().await?);
                    } else {
                        query.execute().await?;
                    }
                }
            }
        }
        Ok(out)
    }

    /// `(SELECT a, b::numeric AS b … FROM UNNEST($1::text[], $2::text[] …) AS u(a, b …)) AS v`
    fn unnest(&self) -> String {
        let mut select = Vec::new();
        let mut arrays = Vec::new();
        for (i, (name, kind)) in self.columns.iter().enumerate() {
            let (array, column) = match kind {
                Kind::Text => ("text[]", name.to_string()),
                Kind::Num => ("text[]", format!("{name}::numeric AS {name}")),
                Kind::Int => ("int8[]", name.to_string()),
                Kind::Bool => ("bool[]", name.to_string()),
            };
            arrays.push(format!("${}::{array}", i + 1));
            select.push(column);
        }
        format!(
            "(SELECT {} FROM UNNEST({}) AS u({})) AS v",
            select.join(", "),
            arrays.join(", "),
            self.names()
        )
    }

    /// `(SELECT column1 AS a, column2 AS b … FROM (VALUES (?, ?), …)) AS v`
    fn values(&self, rows: usize) -> String {
        let width = self.columns.len();
        let select: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (name, _))| format!("column{} AS {name}", i + 1))
            .collect();
        let mut values = String::with_capacity(rows * (width * 3 + 4));
        for r in 0..rows {
            if r > 0 {
                values.push_str(", ");
            }
            values.push('(');
            for c in 0..width {
                if c > 0 {
                    values.push_str(", ");
                }
                // Anonymous placeholders: SQLite looks each `$N` up among the names seen so
                // far, which makes parsing a statement of thousands of them quadratic.
                values.push('?');
            }
            values.push(')');
        }
        format!("(SELECT {} FROM (VALUES {values})) AS v", select.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::or_fail;

    #[test]
    fn or_fail_rewrites_the_verb_only() {
        assert_eq!(
            or_fail("INSERT INTO t (a) SELECT a FROM v"),
            "INSERT OR FAIL INTO t (a) SELECT a FROM v"
        );
        assert_eq!(
            or_fail("\n  UPDATE holdings SET a = 1"),
            "UPDATE OR FAIL holdings SET a = 1"
        );
        assert_eq!(or_fail("SELECT 1"), "SELECT 1");
    }
}

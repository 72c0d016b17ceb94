//! One JSON line for machines and one human line per run.

use serde_json::{Map, Value};

/// The result of one scenario run.
#[derive(Debug)]
pub(crate) struct Report {
    scenario: String,
    fields: Map<String, Value>,
    human: String,
}

impl Report {
    pub(crate) fn new(scenario: impl Into<String>) -> Self {
        Self {
            scenario: scenario.into(),
            fields: Map::new(),
            human: String::new(),
        }
    }

    /// Adds a field to the JSON line.
    pub(crate) fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// Sets the human summary.
    pub(crate) fn human(mut self, text: impl Into<String>) -> Self {
        self.human = text.into();
        self
    }

    /// Prints both lines to standard output (a closed pipe is not an error:
    /// `| head -1` is a fine way to keep only the JSON line).
    pub(crate) fn print(&self) {
        use std::io::Write;
        let mut object = Map::new();
        object.insert("scenario".into(), Value::String(self.scenario.clone()));
        object.extend(self.fields.clone());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", Value::Object(object));
        let _ = writeln!(out, "{}: {}", self.scenario, self.human);
    }
}

/// Formats a rate with a k/M suffix.
pub(crate) fn rate(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// The value at quantile `q` of sorted samples.
pub(crate) fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

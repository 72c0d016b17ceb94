//! A strict parser of the Prometheus text exposition format (0.0.4), as
//! its specification states it, so tests read `/metrics` as Prometheus
//! would instead of matching lines:
//!
//! - `# HELP <name> <text>` (text escapes `\\` and `\n`) and `# TYPE <name>
//!   <counter|gauge|histogram|summary|untyped>`, at most once each per name,
//!   `TYPE` before the name's first sample; other `#` lines are comments;
//! - a sample is `<name>[{<label>="<value>",...}] <float> [<timestamp>]`,
//!   names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`
//!   and not starting with `__`, label values escaping `\\`, `\"`, `\n`;
//! - a family's lines come as one group; no two samples share a name and
//!   label set; a label appears once per sample; counters are not negative.

#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, HashSet};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A metric family: its `TYPE`, `HELP` and samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Family {
    pub kind: String,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

/// A parsed exposition, by family name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    pub families: BTreeMap<String, Family>,
}

impl Exposition {
    /// Every sample name (with any `_bucket`/`_sum`/`_count` suffix).
    pub fn sample_names(&self) -> HashSet<String> {
        self.families
            .values()
            .flat_map(|family| family.samples.iter().map(|s| s.name.clone()))
            .collect()
    }

    /// The sum of the samples called `name` whose labels include `labels`;
    /// `None` if no sample matches.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .families
            .values()
            .flat_map(|family| &family.samples)
            .filter(|sample| sample.name == name)
            .filter(|sample| {
                labels
                    .iter()
                    .all(|(k, v)| sample.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|sample| sample.value)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// Like [`Exposition::value`], 0 when nothing matches.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }
}

const TYPES: [&str; 5] = ["counter", "gauge", "histogram", "summary", "untyped"];

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// The family a sample name belongs to, given the families typed so far:
/// histogram and summary samples carry suffixes.
fn family_of(name: &str, families: &BTreeMap<String, Family>) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && families
                .get(base)
                .is_some_and(|f| f.kind == "histogram" || f.kind == "summary")
        {
            return base.to_owned();
        }
    }
    name.to_owned()
}

fn parse_float(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text
            .parse::<f64>()
            .map_err(|_| format!("`{text}` is not a float")),
    }
}

/// Splits a `# HELP` text's escapes.
fn unescape_help(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            other => return Err(format!("bad escape `\\{other:?}` in HELP")),
        }
    }
    Ok(out)
}

/// Parses `{a="x",b="y"}` at the start of `text`; returns the labels and the
/// rest after `}`.
fn parse_labels(text: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = text
        .strip_prefix('{')
        .ok_or_else(|| "expected `{`".to_owned())?;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or("a label without `=`")?;
        let name = rest[..eq].trim();
        if !is_label_name(name) {
            return Err(format!("`{name}` is not a label name"));
        }
        rest = rest[eq + 1..].trim_start();
        rest = rest
            .strip_prefix('"')
            .ok_or_else(|| format!("label `{name}`: value must be quoted"))?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err(format!("label `{name}`: unterminated value")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("label `{name}`: bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err(format!("label `{name}`: raw newline")),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label `{name}` twice in one sample"));
        }
        rest = rest[end + 1..].trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err("expected `,` or `}` after a label".to_owned());
        }
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' ', '\t'])
        .ok_or("a sample without a value")?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("`{name}` is not a metric name"));
    }
    let (labels, rest) = if line[name_end..].starts_with('{') {
        parse_labels(&line[name_end..])?
    } else {
        (BTreeMap::new(), &line[name_end..])
    };
    let mut fields = rest.split_whitespace();
    let value = parse_float(fields.next().ok_or("a sample without a value")?)?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("`{timestamp}` is not a timestamp"))?;
    }
    if fields.next().is_some() {
        return Err("text after the timestamp".to_owned());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Parses `text`, or says which line breaks which rule.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut helped: HashSet<String> = HashSet::new();
    // Families whose group has ended: one seen again breaks grouping.
    let mut closed: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut seen: HashSet<(String, Vec<(String, String)>)> = HashSet::new();
    for (number, line) in text.split('\n').enumerate() {
        let at = |message: String| format!("line {}: {message}: {line:?}", number + 1);
        if line.trim().is_empty() {
            continue;
        }
        let touched = if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            match words.next() {
                Some("HELP") => {
                    let name = words
                        .next()
                        .ok_or_else(|| at("HELP without a name".into()))?;
                    if !is_metric_name(name) {
                        return Err(at(format!("`{name}` is not a metric name")));
                    }
                    if !helped.insert(name.to_owned()) {
                        return Err(at(format!("a second HELP for `{name}`")));
                    }
                    let help = unescape_help(words.next().unwrap_or("")).map_err(at)?;
                    families.entry(name.to_owned()).or_default().help = Some(help);
                    Some(name.to_owned())
                }
                Some("TYPE") => {
                    let name = words
                        .next()
                        .ok_or_else(|| at("TYPE without a name".into()))?;
                    if !is_metric_name(name) {
                        return Err(at(format!("`{name}` is not a metric name")));
                    }
                    let kind = words.next().unwrap_or("").trim();
                    if !TYPES.contains(&kind) {
                        return Err(at(format!("`{kind}` is not a metric type")));
                    }
                    let family = families.entry(name.to_owned()).or_default();
                    if !family.kind.is_empty() {
                        return Err(at(format!("a second TYPE for `{name}`")));
                    }
                    if !family.samples.is_empty() {
                        return Err(at(format!("TYPE for `{name}` after its samples")));
                    }
                    family.kind = kind.to_owned();
                    Some(name.to_owned())
                }
                _ => None,
            }
        } else {
            let sample = parse_sample(line).map_err(at)?;
            let family_name = family_of(&sample.name, &families);
            let family = families.entry(family_name.clone()).or_default();
            if family.kind.is_empty() {
                family.kind = "untyped".to_owned();
            }
            if family.kind == "counter" && sample.value < 0.0 {
                return Err(at("a negative counter".into()));
            }
            let key = (
                sample.name.clone(),
                sample.labels.clone().into_iter().collect::<Vec<_>>(),
            );
            if !seen.insert(key) {
                return Err(at("a second sample with the same name and labels".into()));
            }
            family.samples.push(sample);
            Some(family_name)
        };
        if let Some(name) = touched
            && current.as_deref() != Some(name.as_str())
        {
            if closed.contains(&name) {
                return Err(at(format!("`{name}` is not one group of lines")));
            }
            if let Some(previous) = current.replace(name) {
                closed.insert(previous);
            }
        }
    }
    Ok(Exposition { families })
}

#[test]
fn the_parser_reads_the_format_and_refuses_what_breaks_it() {
    let good = "# HELP a_total A \\\\ counter\\nwith two lines.\n# TYPE a_total counter\n\
                a_total{x=\"q\\\"uote\",y=\"\"} 3\na_total{x=\"b\"} 4 1700000000000\n\
                # a comment\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 2.5\nh_count 1\n\
                plain NaN\n";
    let parsed = parse(good).unwrap();
    assert_eq!(parsed.get("a_total", &[]), 7.0);
    assert_eq!(parsed.get("a_total", &[("x", "q\"uote")]), 3.0);
    assert_eq!(
        parsed.families["a_total"].help.as_deref(),
        Some("A \\ counter\nwith two lines.")
    );
    assert_eq!(parsed.families["h"].samples.len(), 3);
    assert_eq!(parsed.families["plain"].kind, "untyped");
    for bad in [
        "a{x=\"1\"} one\n",
        "a{x=1} 1\n",
        "a{x=\"1\",x=\"2\"} 1\n",
        "a{__x=\"1\"} 1\n",
        "a{x=\"\\q\"} 1\n",
        "1a 1\n",
        "a 1\na 2\n",
        "# TYPE a counter\na -1\n",
        "# TYPE a counter\n# TYPE a gauge\n",
        "a 1\n# TYPE a counter\n",
        "# TYPE a sometimes\n",
        "a 1\nb 1\na{x=\"y\"} 1\n",
        "a 1 2 3\n",
        "a{x=\"1\" 1\n",
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}

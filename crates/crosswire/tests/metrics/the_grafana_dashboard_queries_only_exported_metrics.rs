//! `docs/grafana-dashboard.json` is checked against a live server: every
//! metric name any panel queries must be one the server exports.

use std::collections::BTreeSet;

use crosswire::broker::MemoryBus;
use crosswire::config::Config;
use serde_json::Value;

use crate::support::*;

/// PromQL words that are not metric names: keywords, and aggregation
/// operators (which may be followed by `by (...)` rather than `(`).
const KEYWORDS: [&str; 27] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "limitk",
    "limit_ratio",
];

/// The metric names in a PromQL expression: identifiers that are not
/// functions or aggregations (followed by `(`), not inside label matchers
/// `{...}`, grouping lists `by (...)`, ranges `[...]` or strings, and not
/// keywords or `$variables`; histogram and summary suffixes stripped.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut braces = 0usize;
    let mut brackets = 0usize;
    // Parentheses that open a `by (...)` / `without (...)` / `on (...)` list.
    let mut label_list = false;
    let mut previous_word = String::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            '{' => braces += 1,
            '}' => braces = braces.saturating_sub(1),
            '[' => brackets += 1,
            ']' => brackets = brackets.saturating_sub(1),
            '(' if matches!(
                previous_word.as_str(),
                "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
            ) =>
            {
                label_list = true
            }
            ')' if label_list => label_list = false,
            _ if c.is_ascii_digit() => {
                // A number or a duration (`0.99`, `5m`, `1e3`).
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                previous_word.clear();
                continue;
            }
            '$' => {
                // A dashboard variable: `$instance`, `$__rate_interval`.
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                continue;
            }
            _ if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut next = i;
                while next < chars.len() && chars[next] == ' ' {
                    next += 1;
                }
                let is_call = chars.get(next) == Some(&'(');
                let keyword = KEYWORDS.contains(&word.to_ascii_lowercase().as_str());
                if braces == 0 && brackets == 0 && !label_list && !is_call && !keyword {
                    let base = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|suffix| word.strip_suffix(suffix))
                        .unwrap_or(&word);
                    names.insert(base.to_owned());
                }
                previous_word = word;
                continue;
            }
            _ => {}
        }
        if !c.is_whitespace() {
            previous_word.clear();
        }
        i += 1;
    }
    names
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    let mut stack: Vec<&Value> = dashboard["panels"].as_array().unwrap().iter().collect();
    while let Some(panel) = stack.pop() {
        if let Some(nested) = panel["panels"].as_array() {
            stack.extend(nested);
        }
        all.push(panel);
    }
    all
}

#[test]
fn metric_names_are_found_in_promql() {
    assert_eq!(
        metric_names(
            r#"sum by (code, instance) (rate(crosswire_ws_closes_total{instance=~"$instance",code!="1000"}[$__rate_interval]))"#
        ),
        BTreeSet::from(["crosswire_ws_closes_total".to_owned()])
    );
    assert_eq!(
        metric_names(
            "histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket[5m]))) / on (job) group_left y_total offset 5m"
        ),
        BTreeSet::from(["x_seconds".to_owned(), "y_total".to_owned()])
    );
}

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_exported() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/grafana-dashboard.json"
    );
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    assert_eq!(dashboard["__inputs"][0]["pluginId"], "prometheus");

    // A server with a broker, so the broker's metrics are exported too.
    let mut config = Config::default();
    config.metrics.enabled = true;
    let bus = MemoryBus::new();
    let server = start(echo_app(config).broker(bus.broker())).await;
    // One connection, so the labelled families have samples too.
    let mut client = connect(&server, "/").await;
    send_text(&mut client, "hello").await;
    assert_eq!(next_text(&mut client).await, "hello");
    drop(client);
    let exposition = crate::scrape::scrape_until(server.addr, "/metrics", "a close", |e| {
        e.get("crosswire_ws_closes_total", &[]) == 1.0
    })
    .await;
    let exported = exposition.sample_names();

    let mut queried = BTreeSet::new();
    let mut titles = Vec::new();
    for panel in panels(&dashboard) {
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().unwrap().to_owned();
        assert_eq!(
            panel["datasource"]["uid"], "${DS_PROMETHEUS}",
            "panel {title} must use the datasource input"
        );
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {title} queries nothing");
        for target in targets {
            let expr = target["expr"].as_str().unwrap();
            let names = metric_names(expr);
            assert!(!names.is_empty(), "panel {title}: no metric in {expr}");
            for name in names {
                assert!(
                    exported.contains(&name),
                    "panel {title} queries {name}, which the server does not export ({exported:?})"
                );
                queried.insert(name);
            }
        }
        titles.push(title);
    }
    // What an operator looks at first is there.
    for wanted in [
        "crosswire_ws_connections_open",
        "crosswire_ws_messages_received_total",
        "crosswire_ws_messages_sent_total",
        "crosswire_deliveries_total",
        "crosswire_send_queue_bytes",
        "crosswire_send_queue_high_water_bytes",
        "crosswire_send_queue_budget_closes_total",
        "crosswire_ws_closes_total",
        "crosswire_ws_upgrades_total",
        "crosswire_hook_failures_total",
        "crosswire_broker_connected",
    ] {
        assert!(queried.contains(wanted), "no panel shows {wanted}");
    }
    // `label_values(<metric>, instance)`: the metric must be exported.
    let template = dashboard["templating"]["list"][0]["query"]["query"]
        .as_str()
        .unwrap();
    let metric = template
        .strip_prefix("label_values(")
        .and_then(|rest| rest.split(',').next())
        .unwrap();
    assert!(
        exported.contains(metric),
        "the instance variable queries {metric}"
    );
    server.shutdown().await;
}

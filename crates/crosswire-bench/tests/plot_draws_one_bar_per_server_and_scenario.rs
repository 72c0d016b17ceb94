//! `crosswire-bench plot` turns a small results file into an SVG that parses
//! as XML, with one bar per (server, scenario) that has a result, and none
//! for failed or skipped rows.

#![allow(clippy::unwrap_used)]

use std::process::Command;

const RESULTS: &str = r#"{"server":"crosswire","scenario":"chat-32","delivered_per_sec":12818534.0}
{"server":"crosswire","scenario":"fanout-1000","delivered_per_sec":11148725.0}
{"server":"crosswire","scenario":"echo","replies_per_sec":172000.0,"p99_us":796}
{"server":"crosswire","scenario":"conns-10000","kb_per_connection":3.86,"still_open":10000}
{"server":"bun-native","scenario":"chat-32","delivered_per_sec":4810000.0}
{"server":"bun-native","scenario":"fanout-1000","error":true}
{"server":"bun-native","scenario":"conns-10000","kb_per_connection":3.51,"still_open":10000}
{"server":"node-h3v1","scenario":"chat-32-deflate","skipped":true}
{"server":"node-h3v1","scenario":"chat-32","delivered_per_sec":160000.0}
{"server":"crosswire","scenario":"chat-32","delivered_per_sec":99.0}
"#;

/// (server, scenario) pairs that must have a bar: the failed, skipped,
/// echo and repeated rows draw none.
const EXPECTED_BARS: usize = 6;

#[test]
fn a_small_run_becomes_a_valid_svg_with_one_bar_per_result() {
    let tmp = tempfile_dir();
    let input = tmp.join("results.jsonl");
    let out = tmp.join("bench.svg");
    std::fs::write(&input, RESULTS).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_crosswire-bench"))
        .arg("plot")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let svg = std::fs::read_to_string(&out).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");

    // Bars are the filled rectangles in a server's colour: not the white
    // background, not the legend's frame.
    let bars: Vec<roxmltree::Node<'_, '_>> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .filter(|n| {
            let fill = n.attribute("fill").unwrap_or("none").to_ascii_uppercase();
            fill != "NONE" && fill != "#FFFFFF" && fill != "WHITE"
        })
        .collect();
    assert_eq!(bars.len(), EXPECTED_BARS, "{svg}");
    for bar in &bars {
        let height: f64 = bar.attribute("height").unwrap().parse().unwrap();
        assert!(height > 0.0, "{svg}");
    }

    // Each bar is labelled with its value; the first chat-32 row counts.
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    for label in [
        "12.82M",
        "11.15M",
        "4.81M",
        "0.16M",
        "3.86 KB",
        "3.51 KB",
        "crosswire",
        "bun-native",
        "node-h3v1",
        "chat-32",
        "fanout-1000",
        "conns-10000",
    ] {
        assert!(
            texts.iter().any(|t| t.trim() == label),
            "no `{label}` in {texts:?}"
        );
    }
    assert!(!texts.iter().any(|t| t.contains("echo")), "{texts:?}");
}

#[test]
fn a_file_without_results_fails_and_writes_nothing() {
    let tmp = tempfile_dir();
    let input = tmp.join("results.jsonl");
    let out = tmp.join("bench.svg");
    std::fs::write(
        &input,
        "{\"server\":\"crosswire\",\"scenario\":\"chat-32\",\"error\":true}\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_crosswire-bench"))
        .arg("plot")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no chat, fan-out or conns results"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!out.exists());
}

/// A fresh folder under the target directory's temp space, per test.
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "crosswire-bench-plot-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

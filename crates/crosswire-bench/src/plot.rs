//! `crosswire-bench plot`: the results of `scripts/bench` as an SVG bar
//! chart, for the README and BENCHMARKS.md, where a picture is read faster
//! than a table.
//!
//! Two panels from one `results.jsonl`: delivered messages per second for
//! every chat and fan-out scenario, and memory per connection for every
//! `conns` scenario, one bar per server in each group, in the order the run
//! listed them. Rows marked `error` or `skipped` draw no bar. When a run
//! holds the same server and scenario more than once (several passes), the
//! first row counts, as in the table `scripts/bench` prints.
//!
//! Drawn with `plotters`' SVG backend, behind the `plot` feature, so the
//! load generator itself builds without a plotting library.

use std::fmt;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

/// Bar colours, one per server in order; they repeat past eight servers.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0xd9, 0x4f, 0x2b),
    RGBColor(0x3b, 0x6e, 0xa8),
    RGBColor(0x5a, 0x9e, 0x4b),
    RGBColor(0x8e, 0x5a, 0xa8),
    RGBColor(0xc9, 0x9a, 0x2e),
    RGBColor(0x4b, 0xa3, 0xa3),
    RGBColor(0x9c, 0x6b, 0x4e),
    RGBColor(0x6e, 0x6e, 0x6e),
];

const WIDTH: u32 = 1000;
const PANEL_HEIGHT: u32 = 360;

/// One measured (server, scenario) value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bar {
    pub(crate) server: String,
    pub(crate) scenario: String,
    pub(crate) value: f64,
}

/// The bars of a run: throughput and memory, each in run order.
#[derive(Debug, Default)]
pub(crate) struct Results {
    pub(crate) servers: Vec<String>,
    pub(crate) throughput: Vec<Bar>,
    pub(crate) memory: Vec<Bar>,
}

/// Why a chart could not be drawn.
#[derive(Debug)]
pub(crate) enum PlotError {
    Read(std::io::Error),
    Line { line: usize, error: String },
    Empty,
    Draw(String),
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlotError::Read(error) => write!(f, "cannot read the results: {error}"),
            PlotError::Line { line, error } => write!(f, "line {line}: {error}"),
            PlotError::Empty => f.write_str(
                "no chat, fan-out or conns results to plot (rows need delivered_per_sec or kb_per_connection)",
            ),
            PlotError::Draw(error) => write!(f, "cannot draw the chart: {error}"),
        }
    }
}

/// Reads `scripts/bench`'s JSON lines.
pub(crate) fn read(text: &str) -> Result<Results, PlotError> {
    let mut results = Results::default();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Value = serde_json::from_str(line).map_err(|error| PlotError::Line {
            line: index + 1,
            error: error.to_string(),
        })?;
        let field = |name: &str| row.get(name).and_then(Value::as_str).map(str::to_owned);
        let (Some(server), Some(scenario)) = (field("server"), field("scenario")) else {
            return Err(PlotError::Line {
                line: index + 1,
                error: "a row needs `server` and `scenario`".to_owned(),
            });
        };
        if !results.servers.contains(&server) {
            results.servers.push(server.clone());
        }
        let failed = |name: &str| row.get(name).and_then(Value::as_bool) == Some(true);
        if failed("error") || failed("skipped") {
            continue;
        }
        let number = |name: &str| row.get(name).and_then(Value::as_f64);
        let (list, value) = if scenario.starts_with("chat") || scenario.starts_with("fanout") {
            (&mut results.throughput, number("delivered_per_sec"))
        } else if scenario.starts_with("conns") {
            (&mut results.memory, number("kb_per_connection"))
        } else {
            continue;
        };
        let seen = list
            .iter()
            .any(|bar| bar.server == server && bar.scenario == scenario);
        if let Some(value) = value.filter(|v| v.is_finite() && *v >= 0.0)
            && !seen
        {
            list.push(Bar {
                server,
                scenario,
                value,
            });
        }
    }
    if results.throughput.is_empty() && results.memory.is_empty() {
        return Err(PlotError::Empty);
    }
    Ok(results)
}

/// Reads `input` and writes the chart to `out`.
pub(crate) fn plot_file(input: &Path, out: &Path) -> Result<(), PlotError> {
    let text = std::fs::read_to_string(input).map_err(PlotError::Read)?;
    let results = read(&text)?;
    draw(&results, out)
}

/// One chart of the picture: its bars, title and value labels.
struct Panel<'a> {
    bars: &'a [Bar],
    title: &'static str,
    label: fn(f64) -> String,
}

/// Draws the panels that have bars, one above the other.
pub(crate) fn draw(results: &Results, out: &Path) -> Result<(), PlotError> {
    let panels: Vec<Panel<'_>> = [
        Panel {
            bars: &results.throughput,
            title: "Delivered messages per second (higher is better)",
            label: millions,
        },
        Panel {
            bars: &results.memory,
            title: "Memory per idle connection, KB of server RSS (lower is better)",
            label: kilobytes,
        },
    ]
    .into_iter()
    .filter(|panel| !panel.bars.is_empty())
    .collect();
    let height = PANEL_HEIGHT * u32::try_from(panels.len()).unwrap_or(1);
    let root = SVGBackend::new(out, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let areas = root.split_evenly((panels.len(), 1));
    for (area, panel) in areas.iter().zip(&panels) {
        draw_panel(area, &results.servers, panel)?;
    }
    root.present().map_err(draw_error)
}

fn draw_error(error: impl fmt::Display) -> PlotError {
    PlotError::Draw(error.to_string())
}

fn millions(value: f64) -> String {
    format!("{:.2}M", value / 1e6)
}

fn kilobytes(value: f64) -> String {
    format!("{value:.2} KB")
}

/// One grouped bar chart: a group per scenario, a bar per server.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    servers: &[String],
    panel: &Panel<'_>,
) -> Result<(), PlotError> {
    let Panel { bars, title, label } = *panel;
    let mut scenarios: Vec<&str> = Vec::new();
    for bar in bars {
        if !scenarios.contains(&bar.scenario.as_str()) {
            scenarios.push(&bar.scenario);
        }
    }
    let groups = scenarios.len() as f64;
    let top = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(1e-9) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(70)
        // A fifth of the width past the last group holds the legend.
        .build_cartesian_2d(0.0..groups * 1.25, 0.0..top)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .light_line_style(BLACK.mix(0.04))
        .y_label_formatter(&|v: &f64| label(*v))
        .y_labels(6)
        .draw()
        .map_err(draw_error)?;

    // Every server keeps its slot (and colour) in every group, so bars
    // line up across groups even where a server has no result.
    let slot = 0.8 / servers.len().max(1) as f64;
    for (index, server) in servers.iter().enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        let mine: Vec<(f64, f64)> = bars
            .iter()
            .filter(|bar| &bar.server == server)
            .filter_map(|bar| {
                let group = scenarios.iter().position(|s| *s == bar.scenario)?;
                Some((group as f64 + 0.1 + slot * index as f64, bar.value))
            })
            .collect();
        if mine.is_empty() {
            continue;
        }
        chart
            .draw_series(mine.iter().map(|&(x, value)| {
                Rectangle::new([(x, 0.0), (x + slot * 0.92, value)], colour.filled())
            }))
            .map_err(draw_error)?
            .label(server.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(8))
            });
        chart
            .draw_series(mine.iter().map(|&(x, value)| {
                Text::new(
                    label(value),
                    (x + slot * 0.46, value + top * 0.01),
                    ("sans-serif", 11)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
            }))
            .map_err(draw_error)?;
    }
    // Scenario names under each group, placed by hand: the axis labels of a
    // numeric axis fall where its ticks are, not at the groups' centres.
    let origin = area.get_base_pixel();
    let font = ("sans-serif", 14).into_font().color(&BLACK);
    for (index, scenario) in scenarios.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(index as f64 + 0.5, 0.0));
        let half = i32::try_from(scenario.len()).unwrap_or(0) * 4;
        area.draw(&Text::new(
            (*scenario).to_owned(),
            (x - origin.0 - half, y - origin.1 + 8),
            font.clone(),
        ))
        .map_err(draw_error)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(draw_error)?;
    Ok(())
}

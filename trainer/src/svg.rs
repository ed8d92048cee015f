//! Minimal SVG charts for the HTML reports: lines (metric@K, losses, reliability) and
//! horizontal bars with interval whiskers.
//!
//! Hand-written rather than `plotters`: the reports need just these two chart kinds (about 200
//! lines here), plotters' SVG backend without a font feature only guesses text extents, and a
//! dependency-free module keeps the trainer's cold build lean.

use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 46.0;
/// Colour-blind-safe palette (Okabe & Ito).
const COLOURS: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// One named line of a line chart.
pub struct Line<'a> {
    pub name: &'a str,
    pub points: &'a [(f64, f64)],
}

/// One bar: a label, its value and optionally an interval drawn as a whisker.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// About five round tick values covering `[lo, hi]` (steps of 1, 2 or 5 times a power of 10).
pub fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    (first..=last.max(first + 1))
        .map(|i| i as f64 * step)
        .collect()
}

fn label(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

struct Frame {
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (HEIGHT - TOP - BOTTOM)
    }
}

fn open(svg: &mut String, title: &str) {
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12" role="img"><title>{t}</title><text x="{LEFT}" y="20" font-size="14" font-weight="bold">{t}</text>"#,
        t = escape(title)
    );
}

fn legend(svg: &mut String, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        let y = TOP + 8.0 + 18.0 * i as f64;
        let x = WIDTH - RIGHT + 14.0;
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            y - 10.0,
            COLOURS[i % COLOURS.len()],
            x + 18.0,
            y,
            escape(name)
        );
    }
}

/// A line chart; each line gets a colour and a legend entry.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, lines: &[Line<'_>]) -> String {
    let points = lines.iter().flat_map(|l| l.points.iter());
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::MAX, f64::MIN, 0f64, f64::MIN);
    for &(x, y) in points.filter(|p| p.0.is_finite() && p.1.is_finite()) {
        (x_lo, x_hi, y_lo, y_hi) = (x_lo.min(x), x_hi.max(x), y_lo.min(y), y_hi.max(y));
    }
    if x_lo > x_hi {
        (x_lo, x_hi, y_hi) = (0.0, 1.0, 1.0);
    }
    let (x_ticks, y_ticks) = (ticks(x_lo, x_hi), ticks(y_lo, y_hi));
    let frame = Frame {
        x: (x_lo, if x_hi > x_lo { x_hi } else { x_lo + 1.0 }),
        y: (y_ticks[0], *y_ticks.last().unwrap()),
    };
    let mut svg = String::new();
    open(&mut svg, title);
    axes(&mut svg, &frame, x_label, y_label, &y_ticks);
    for &x in x_ticks.iter().filter(|&&x| x >= x_lo && x <= x_hi) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            frame.px(x),
            HEIGHT - BOTTOM + 16.0,
            label(x)
        );
    }
    for (i, line) in lines.iter().enumerate() {
        let path: Vec<String> = line
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", frame.px(x), frame.py(y)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke-width="2" stroke="{}" points="{}"/>"#,
            COLOURS[i % COLOURS.len()],
            path.join(" ")
        );
    }
    legend(&mut svg, &lines.iter().map(|l| l.name).collect::<Vec<_>>());
    svg.push_str("</svg>");
    svg
}

/// Vertical bars from zero, one colour each, labelled below and valued above, with 95%
/// interval whiskers where given.
pub fn bar_chart(title: &str, y_label: &str, bars: &[Bar]) -> String {
    let top = bars
        .iter()
        .map(|b| b.interval.map_or(b.value, |i| i.1.max(b.value)))
        .filter(|v| v.is_finite())
        .fold(0f64, f64::max);
    let y_ticks = ticks(0.0, if top > 0.0 { top } else { 1.0 });
    let frame = Frame {
        x: (0.0, bars.len().max(1) as f64),
        y: (y_ticks[0], *y_ticks.last().unwrap()),
    };
    let mut svg = String::new();
    open(&mut svg, title);
    axes(&mut svg, &frame, "", y_label, &y_ticks);
    let slot = frame.px(1.0) - frame.px(0.0);
    for (i, bar) in bars.iter().enumerate() {
        let x = frame.px(i as f64) + slot * 0.2;
        let (y, base) = (frame.py(bar.value.max(0.0)), frame.py(0.0));
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
            slot * 0.6,
            (base - y).max(0.0),
            COLOURS[i % COLOURS.len()],
            escape(&bar.label),
            label(bar.value)
        );
        if let Some((lo, hi)) = bar.interval {
            let cx = x + slot * 0.3;
            let _ = write!(
                svg,
                r#"<path stroke="black" stroke-width="1.5" fill="none" d="M{cx:.1},{:.1}V{:.1}M{:.1},{:.1}h10M{:.1},{:.1}h10"/>"#,
                frame.py(lo),
                frame.py(hi),
                cx - 5.0,
                frame.py(lo),
                cx - 5.0,
                frame.py(hi)
            );
        }
        // The label under the bar, the value above it (above the whisker when there is one).
        let top = bar.interval.map_or(bar.value, |i| i.1.max(bar.value));
        let _ = write!(
            svg,
            r#"<text x="{cx:.1}" y="{}" text-anchor="middle">{}</text><text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"#,
            HEIGHT - BOTTOM + 16.0,
            escape(&bar.label),
            frame.py(top.max(0.0)) - 5.0,
            label(bar.value),
            cx = x + slot * 0.3
        );
    }
    svg.push_str("</svg>");
    svg
}

fn axes(svg: &mut String, frame: &Frame, x_label: &str, y_label: &str, y_ticks: &[f64]) {
    let (x0, x1) = (LEFT, WIDTH - RIGHT);
    for &y in y_ticks {
        let py = frame.py(y);
        let _ = write!(
            svg,
            r##"<line x1="{x0}" x2="{x1}" y1="{py:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 - 6.0,
            py + 4.0,
            label(y)
        );
    }
    let _ = write!(
        svg,
        r#"<line x1="{x0}" x2="{x0}" y1="{TOP}" y2="{b}" stroke="black"/><line x1="{x0}" x2="{x1}" y1="{b}" y2="{b}" stroke="black"/><text x="{:.1}" y="{}" text-anchor="middle">{}</text><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (x0 + x1) / 2.0,
        HEIGHT - 8.0,
        escape(x_label),
        (TOP + HEIGHT - BOTTOM) / 2.0,
        escape(y_label),
        b = HEIGHT - BOTTOM
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 47.3), [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
        let t = ticks(0.0, 0.021);
        assert!(
            t[0] == 0.0 && *t.last().unwrap() >= 0.021 && t.len() <= 7,
            "{t:?}"
        );
        assert_eq!(label(0.0050000001), "0.005");
        assert_eq!(label(20.0), "20");
    }

    #[test]
    fn charts_are_escaped_svg() {
        let svg = line_chart(
            "P@K <sample>",
            "K",
            "P@K (%)",
            &[Line {
                name: "a&b",
                points: &[(1.0, 2.0), (2.0, 3.0)],
            }],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("P@K &lt;sample&gt;") && svg.contains("a&amp;b"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        let bars = bar_chart(
            "P@20",
            "%",
            &[Bar {
                label: "sknn".into(),
                value: 45.0,
                interval: Some((44.5, 45.5)),
            }],
        );
        assert_eq!(bars.matches("<rect").count(), 1);
        assert!(bars.contains(">sknn</text>") && bars.contains(">45</text>"));
        assert!(bars.contains("<path stroke=\"black\""));
    }
}

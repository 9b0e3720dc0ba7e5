//! Time charts drawn as plain SVG while the page renders: no script and no chart library, so a
//! chart is in the first HTML the browser gets and hydration has nothing to redraw.
//!
//! The drawing has a fixed `viewBox`; CSS scales it to the card's width. Colours come from CSS
//! classes (`series-0` … `series-7`), shared by the bars and the legend swatches.

use leptos::prelude::*;
use time::OffsetDateTime;

const MINUTES_PER_DAY: u32 = 24 * 60;

/// Writes a value for people (`12.50 EUR` for 1250 minor units); plain numbers without one.
pub type ValueFormat = std::sync::Arc<dyn Fn(u64) -> String + Send + Sync>;

/// How many colours the palette has. The last one is neutral, meant for an "other" series.
pub const PALETTE: usize = 8;

// The drawing, in viewBox units: a plot area with room on the left for the value axis and below
// for the time axis.
// The top and bottom margins fit the labels also at the larger type narrow screens use (CSS).
const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 196.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 30.0;
const BASELINE: f64 = HEIGHT - 32.0;
const PLOT_WIDTH: f64 = WIDTH - LEFT - RIGHT;
const PLOT_HEIGHT: f64 = BASELINE - TOP;

/// One named row of values, one per time slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<u64>,
}

/// How [`TimeSeries::coarsen`] merges neighbouring slots: counts add up, levels keep their peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    Sum,
    Max,
}

/// Values over consecutive, equally long time slots.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeries {
    /// When each slot starts.
    pub starts: Vec<OffsetDateTime>,
    pub slot_minutes: u32,
    /// Drawn (and stacked) in this order; each has one value per slot.
    pub series: Vec<Series>,
}

impl TimeSeries {
    pub fn per_minute(starts: Vec<OffsetDateTime>, series: Vec<Series>) -> Self {
        Self { starts, slot_minutes: 1, series }
    }

    /// One slot per day; `starts` are the days' midnights (UTC).
    pub fn per_day(starts: Vec<OffsetDateTime>, series: Vec<Series>) -> Self {
        Self { starts, slot_minutes: MINUTES_PER_DAY, series }
    }

    /// Merges neighbouring slots so at most `max_slots` remain, in round steps (2, 5, 10 … minutes):
    /// a day of minutes is 1,441 bars, each thinner than a pixel and impossible to hover.
    pub fn coarsen(self, max_slots: usize, fold: Fold) -> Self {
        const STEPS: [usize; 9] = [1, 2, 5, 10, 15, 30, 60, 120, 240];
        let n = self.starts.len();
        let max_slots = max_slots.max(1);
        let step = STEPS.into_iter().find(|s| n.div_ceil(*s) <= max_slots).unwrap_or_else(|| n.div_ceil(max_slots));
        if step <= 1 {
            return self;
        }
        let merge = |chunk: &[u64]| match fold {
            Fold::Sum => chunk.iter().sum(),
            Fold::Max => chunk.iter().copied().max().unwrap_or(0),
        };
        Self {
            starts: self.starts.iter().step_by(step).copied().collect(),
            slot_minutes: self.slot_minutes.saturating_mul(step as u32),
            series: self.series.into_iter().map(|s| Series { name: s.name, values: s.values.chunks(step).map(merge).collect() }).collect(),
        }
    }

    /// "minute" or "5 minutes": what one slot is, for titles.
    pub fn slot_label(&self) -> String {
        match self.slot_minutes {
            1 => "minute".into(),
            MINUTES_PER_DAY => "day".into(),
            m => format!("{m} minutes"),
        }
    }

    fn value(&self, series: usize, slot: usize) -> u64 {
        self.series.get(series).and_then(|s| s.values.get(slot)).copied().unwrap_or(0)
    }

    /// How a slot's start reads on this chart: `14:05`, or `11-22 14:05` when the series spans
    /// more than one day (a 24-hour window starts and ends at the same clock time).
    fn time_label(&self, t: &OffsetDateTime) -> String {
        if self.slot_minutes >= MINUTES_PER_DAY {
            return format!("{:02}-{:02}", t.month() as u8, t.day());
        }
        let spans_days = match (self.starts.first(), self.starts.last()) {
            (Some(first), Some(last)) => first.date() != last.date(),
            _ => false,
        };
        let clock = format!("{:02}:{:02}", t.hour(), t.minute());
        if spans_days {
            format!("{:02}-{:02} {clock}", t.month() as u8, t.day())
        } else {
            clock
        }
    }

    /// The labels of the time axis: the first and the last slot.
    fn ends(&self) -> (String, String) {
        let label = |t: Option<&OffsetDateTime>| t.map(|t| self.time_label(t)).unwrap_or_default();
        (label(self.starts.first()), label(self.starts.last()))
    }

    /// Per slot, every series added up: the height of a stacked bar.
    fn totals(&self) -> Vec<u64> {
        (0..self.starts.len()).map(|slot| (0..self.series.len()).map(|s| self.value(s, slot)).sum()).collect()
    }
}

/// Coordinates are written with one decimal: enough for an 800-unit drawing, and short.
fn num(v: f64) -> String {
    format!("{v:.1}")
}

fn slot_width(slots: usize) -> f64 {
    PLOT_WIDTH / slots.max(1) as f64
}

fn y_of(value: u64, max: u64) -> f64 {
    if max == 0 {
        BASELINE
    } else {
        BASELINE - value as f64 / max as f64 * PLOT_HEIGHT
    }
}

/// The largest total and the slot it happened in (the first, on a tie).
fn peak(totals: &[u64]) -> (u64, usize) {
    totals.iter().enumerate().fold((0, 0), |best, (i, v)| if *v > best.0 { (*v, i) } else { best })
}

/// Bars per time slot, each stacked from its series, with a legend when there is more than one.
#[component]
pub fn StackedBarChart(
    /// `data-chart` of the `<svg>`, for styles and tests.
    kind: &'static str,
    title: String,
    /// What is counted, plural: "events", "failures".
    unit: &'static str,
    data: TimeSeries,
    /// How values read (tooltips, the value axis, the description); plain numbers by default.
    #[prop(optional)]
    format: Option<ValueFormat>,
) -> impl IntoView {
    let show = move |v: u64| format.as_ref().map(|f| f(v)).unwrap_or_else(|| v.to_string());
    let totals = data.totals();
    let (max, peak_slot) = peak(&totals);
    let total: u64 = totals.iter().sum();
    let description = if max == 0 {
        format!("{title}: no {unit} in this window")
    } else {
        format!(
            "{title}: {} {unit} in total, at most {} at {}",
            show(total),
            show(max),
            data.starts.get(peak_slot).map(|t| data.time_label(t)).unwrap_or_default()
        )
    };
    let width = slot_width(data.starts.len());
    // A gap between bars keeps neighbours apart; very narrow bars get none, or they vanish.
    let gap = if width >= 4.0 { width * 0.15 } else { 0.0 };
    let bars = data
        .starts
        .iter()
        .enumerate()
        .filter(|(slot, _)| totals[*slot] > 0)
        .map(|(slot, start)| {
            let x = num(LEFT + slot as f64 * width + gap / 2.0);
            let mut below = 0;
            data.series
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let value = data.value(i, slot);
                    if value == 0 {
                        return None;
                    }
                    let (bottom, top) = (y_of(below, max), y_of(below + value, max));
                    below += value;
                    let tip = format!("{} {}: {}", data.time_label(start), s.name, show(value));
                    Some(view! {
                        <rect class=format!("bar series-{}", i % PALETTE) x=x.clone() y=num(top) width=num(width - gap) height=num(bottom - top)>
                            <title>{tip}</title>
                        </rect>
                    })
                })
                .collect_view()
        })
        .collect_view();
    let legend = if data.series.len() > 1 { data.series.iter().map(|s| s.name.clone()).collect() } else { Vec::new() };
    let ends = data.ends();
    let max_label = show(max);
    view! {
        <ChartFrame kind title description max max_label ends legend>
            {bars}
        </ChartFrame>
    }
}

/// A level over time (a backlog): a line with the area under it shaded.
#[component]
pub fn AreaChart(kind: &'static str, title: String, unit: &'static str, data: TimeSeries) -> impl IntoView {
    let values = data.totals();
    let (max, peak_slot) = peak(&values);
    let description = match (max, values.last()) {
        (0, _) | (_, None) => format!("{title}: no {unit} in this window"),
        (_, Some(now)) => format!(
            "{title}: at most {max} {unit} at {}, {now} at the end of the window",
            data.starts.get(peak_slot).map(|t| data.time_label(t)).unwrap_or_default()
        ),
    };
    let width = slot_width(values.len());
    // Each value sits at the middle of its slot, so the line lines up with bars drawn above it.
    let points: Vec<(f64, f64)> = values.iter().enumerate().map(|(i, v)| (LEFT + (i as f64 + 0.5) * width, y_of(*v, max))).collect();
    let line = points.iter().map(|(x, y)| format!("{},{}", num(*x), num(*y))).collect::<Vec<_>>().join(" ");
    let area = match (points.first(), points.last()) {
        (Some((first, _)), Some((last, _))) => format!("M{},{} L{line} L{},{} Z", num(*first), num(BASELINE), num(*last), num(BASELINE)),
        _ => String::new(),
    };
    // Invisible full-height strips carry each slot's value as a tooltip.
    let tips = data
        .starts
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(i, (start, v))| {
            let tip = format!("{}: {v}", data.time_label(start));
            view! { <rect class="hit" x=num(LEFT + i as f64 * width) y=num(TOP) width=num(width) height=num(PLOT_HEIGHT)><title>{tip}</title></rect> }
        })
        .collect_view();
    let drawing = (max > 0).then(|| {
        view! {
            <path class="area" d=area/>
            <polyline class="line" points=line/>
            {tips}
        }
    });
    let ends = data.ends();
    view! {
        <ChartFrame kind title description max max_label=max.to_string() ends legend=Vec::new()>
            {drawing}
        </ChartFrame>
    }
}

/// The parts every chart shares: the figure and caption, the axes with their labels, the empty
/// state and the legend. `children` draws the data inside the `<svg>`.
#[component]
fn ChartFrame(
    kind: &'static str,
    title: String,
    /// The chart in words, for screen readers (`aria-label`).
    description: String,
    max: u64,
    /// `max` as the value axis shows it.
    max_label: String,
    /// Labels of the first and the last slot.
    ends: (String, String),
    legend: Vec<String>,
    children: Children,
) -> impl IntoView {
    let (first, last) = ends;
    let label_y = num(HEIGHT - 6.0);
    let (left, right) = (num(LEFT), num(WIDTH - RIGHT));
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <svg data-chart=kind role="img" aria-label=description viewBox=format!("0 0 {WIDTH} {HEIGHT}") class="chart-svg">
                <line class="axis" x1=left.clone() y1=num(TOP) x2=left.clone() y2=num(BASELINE)/>
                <line class="axis" x1=left.clone() y1=num(BASELINE) x2=right.clone() y2=num(BASELINE)/>
                // The top of the value axis is the largest value; an empty chart has none.
                {(max > 0).then(|| view! {
                    <line class="grid" x1=left.clone() y1=num(TOP) x2=right.clone() y2=num(TOP)/>
                    // Inside the plot, above its line: a long amount never runs off the left edge.
                    <text class="tick" x=num(LEFT + 4.0) y=num(TOP - 6.0) text-anchor="start">{max_label.clone()}</text>
                })}
                <text class="tick" x=num(LEFT - 6.0) y=num(BASELINE) text-anchor="end">"0"</text>
                <text class="tick" x=left y=label_y.clone() text-anchor="start">{first}</text>
                <text class="tick" x=right y=label_y text-anchor="end">{last}</text>
                {children()}
                {(max == 0).then(|| view! {
                    <text class="chart-empty" x=num(LEFT + PLOT_WIDTH / 2.0) y=num(TOP + PLOT_HEIGHT / 2.0) text-anchor="middle">"No data in this window"</text>
                })}
            </svg>
            {(!legend.is_empty()).then(|| view! {
                <ul class="chart-legend">
                    {legend.into_iter().enumerate().map(|(i, name)| view! {
                        <li><span class=format!("swatch series-{}", i % PALETTE) aria-hidden="true"></span>{name}</li>
                    }).collect_view()}
                </ul>
            })}
        </figure>
    }
}


/// One bar of a [`BarListChart`]: a named count, drawn in the palette colour `series`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: u64,
    pub series: usize,
}

// A bar list's rows, in viewBox units: the label and value on one line, the bar below them.
const ROW: f64 = 50.0;
const ROW_LABEL: f64 = 22.0;
const ROW_BAR_TOP: f64 = 28.0;
const ROW_BAR: f64 = 14.0;

/// How long each bar is, in viewBox units: the largest fills the width, a non-zero value is at
/// least visible, zero is nothing.
fn bar_lengths(bars: &[Bar]) -> Vec<f64> {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    bars.iter()
        .map(|b| match (b.value, max) {
            (0, _) | (_, 0) => 0.0,
            (v, max) => (v as f64 / max as f64 * WIDTH).max(3.0),
        })
        .collect()
}

/// Counts by category (payments by status), one labelled horizontal bar each, largest first as
/// given. Also readable as text: every row says its label and value.
#[component]
pub fn BarListChart(kind: &'static str, title: String, unit: &'static str, bars: Vec<Bar>) -> impl IntoView {
    let total: u64 = bars.iter().map(|b| b.value).sum();
    let description = if total == 0 {
        format!("{title}: no {unit}")
    } else {
        let parts = bars.iter().map(|b| format!("{} {}", b.label, b.value)).collect::<Vec<_>>().join(", ");
        format!("{title}: {total} {unit}; {parts}")
    };
    let height = (bars.len().max(1) as f64) * ROW;
    let lengths = bar_lengths(&bars);
    let rows = bars
        .into_iter()
        .zip(lengths)
        .enumerate()
        .map(|(i, (bar, length))| {
            let y = i as f64 * ROW;
            let share = if total == 0 { 0.0 } else { bar.value as f64 / total as f64 * 100.0 };
            let tip = format!("{}: {} ({share:.0} %)", bar.label, bar.value);
            view! {
                <g class="bar-row">
                    <text class="bar-label" x="0" y=num(y + ROW_LABEL)>{bar.label.clone()}</text>
                    <text class="bar-value" x=num(WIDTH) y=num(y + ROW_LABEL) text-anchor="end">{format!("{} · {share:.0} %", bar.value)}</text>
                    <rect class="track" x="0" y=num(y + ROW_BAR_TOP) width=num(WIDTH) height=num(ROW_BAR) rx="3"/>
                    <rect class=format!("bar series-{}", bar.series % PALETTE) x="0" y=num(y + ROW_BAR_TOP) width=num(length) height=num(ROW_BAR) rx="3">
                        <title>{tip}</title>
                    </rect>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <svg data-chart=kind role="img" aria-label=description viewBox=format!("0 0 {WIDTH} {}", num(height)) class="chart-svg bar-list">
                {rows}
            </svg>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn minutes(n: usize) -> Vec<OffsetDateTime> {
        (0..n).map(|i| datetime!(2026-01-01 00:00 UTC) + time::Duration::minutes(i as i64)).collect()
    }

    #[test]
    fn a_short_series_is_left_alone() {
        let data = TimeSeries::per_minute(minutes(61), vec![Series { name: "a".into(), values: vec![1; 61] }]);
        assert_eq!(data.clone().coarsen(150, Fold::Sum), data);
    }

    #[test]
    fn a_day_of_minutes_becomes_round_slots_that_sum_or_keep_the_peak() {
        let values: Vec<u64> = (0..1441).map(|i| i % 10).collect();
        let data = TimeSeries::per_minute(minutes(1441), vec![Series { name: "a".into(), values: values.clone() }]);
        let summed = data.clone().coarsen(150, Fold::Sum);
        assert_eq!(summed.slot_minutes, 10);
        assert_eq!(summed.starts.len(), 145);
        assert_eq!(summed.series[0].values.len(), 145);
        assert_eq!(summed.series[0].values.iter().sum::<u64>(), values.iter().sum::<u64>());
        assert_eq!(summed.starts[1], minutes(11)[10]);
        let peaks = data.coarsen(150, Fold::Max);
        assert_eq!(peaks.series[0].values[0], 9);
        assert_eq!(peaks.slot_label(), "10 minutes");
    }

    #[test]
    fn totals_stack_every_series_and_the_peak_is_the_first_highest() {
        let data = TimeSeries::per_minute(
            minutes(3),
            vec![Series { name: "a".into(), values: vec![1, 0, 2] }, Series { name: "b".into(), values: vec![2, 0, 1] }],
        );
        assert_eq!(data.totals(), vec![3, 0, 3]);
        assert_eq!(peak(&data.totals()), (3, 0));
        assert_eq!(peak(&[0, 0]), (0, 0));
    }

    #[test]
    fn time_labels_carry_the_date_only_when_the_series_crosses_midnight() {
        let hour = TimeSeries::per_minute(minutes(61), vec![]);
        assert_eq!(hour.ends(), ("00:00".to_string(), "01:00".to_string()));
        let day = TimeSeries::per_minute(minutes(1441), vec![]);
        assert_eq!(day.ends(), ("01-01 00:00".to_string(), "01-02 00:00".to_string()));
    }

    #[test]
    fn daily_series_are_labelled_by_date() {
        let days: Vec<OffsetDateTime> = (0..30).map(|i| datetime!(2026-01-01 00:00 UTC) + time::Duration::days(i)).collect();
        let data = TimeSeries::per_day(days, vec![]);
        assert_eq!(data.slot_label(), "day");
        assert_eq!(data.ends(), ("01-01".to_string(), "01-30".to_string()));
    }

    #[test]
    fn bar_lengths_are_relative_to_the_largest_and_small_ones_stay_visible() {
        let bar = |value| Bar { label: "x".into(), value, series: 0 };
        assert_eq!(bar_lengths(&[bar(50), bar(100), bar(0)]), vec![WIDTH / 2.0, WIDTH, 0.0]);
        assert_eq!(bar_lengths(&[bar(1), bar(10_000)]), vec![3.0, WIDTH]);
        assert_eq!(bar_lengths(&[bar(0), bar(0)]), vec![0.0, 0.0]);
        assert!(bar_lengths(&[]).is_empty());
    }

    #[test]
    fn values_map_onto_the_plot_and_zero_stays_on_the_baseline() {
        assert_eq!(y_of(0, 10), BASELINE);
        assert_eq!(y_of(10, 10), TOP);
        assert_eq!(y_of(5, 0), BASELINE);
    }
}

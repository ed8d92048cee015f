//! Line-per-sequence text: item ids separated by whitespace, in the order they happened, optionally
//! after a user id. The files carry no times, so times are synthetic (see [`super::Source::Sessions`]).

use std::path::Path;

use anyhow::{Context, Result};

use super::for_each_line;
use super::mapping::EventMapping;
use super::reject::{RejectReason, RejectReport, Rejection};
use crate::events::Event;

/// Reads every line as one session (its id is the line number). A row of the report is a line.
pub(super) fn read_events(
    mapping: &EventMapping,
    path: &Path,
    user_first: bool,
    step_ms: i64,
    strict: bool,
) -> Result<(Vec<Event>, RejectReport)> {
    let event_type = mapping
        .default_type()
        .context("the sessions format needs `default_event_type` in [events]")?;
    let mut report = RejectReport::new(path, "events");
    let mut events = Vec::new();
    for_each_line(path, "sessions", |line, text| {
        report.rows_read += 1;
        let text = match text {
            Ok(text) => text,
            Err(rejection) => return report.reject(line, rejection, strict),
        };
        let mut tokens = text.split_ascii_whitespace();
        let session_id = line.to_string();
        let user_id = if user_first {
            tokens.next().unwrap_or_default().to_string()
        } else {
            session_id.clone()
        };
        let before = events.len();
        events.extend(tokens.enumerate().map(|(position, item)| Event {
            user_id: user_id.clone(),
            session_id: Some(session_id.clone()),
            timestamp_ms: position as i64 * step_ms,
            event_type: event_type.clone(),
            item_id: item.to_string(),
            price: None,
            quantity: None,
            context: Default::default(),
        }));
        if events.len() == before {
            let rejection = Rejection::new(RejectReason::MissingField, "item_id", text.trim_end());
            return report.reject(line, rejection, strict);
        }
        report.rows_accepted += 1;
        Ok(())
    })?;
    tracing::info!(
        lines = report.rows_read,
        events = events.len(),
        rejected = report.total_rejected(),
        "read sessions from {}",
        path.display()
    );
    Ok((events, report))
}

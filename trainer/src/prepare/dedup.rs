//! Ordering events and removing exact duplicates (the same row logged twice).

use crate::events::Event;

/// Sorts events by user, then time (file order kept among equal times), and removes events equal
/// in every field to an earlier one. Returns how many were removed.
pub fn sort_and_dedup(events: &mut Vec<Event>) -> usize {
    events.sort_by(|a, b| {
        (a.user_id.as_str(), a.timestamp_ms).cmp(&(b.user_id.as_str(), b.timestamp_ms))
    });
    let before = events.len();
    let mut kept: Vec<Event> = Vec::with_capacity(before);
    for event in events.drain(..) {
        // Duplicates share user and time, so they sit together after the sort: look back only that far.
        let is_duplicate = kept
            .iter()
            .rev()
            .take_while(|k| k.user_id == event.user_id && k.timestamp_ms == event.timestamp_ms)
            .any(|k| *k == event);
        if !is_duplicate {
            kept.push(event);
        }
    }
    *events = kept;
    before - events.len()
}

//! Sessionisation: a session ends after a gap of inactivity (30 minutes by default). Source session
//! ids are kept unless asked to re-split; events without one get `<user>#<n>`.

use std::collections::HashMap;

use crate::events::Event;

/// The default inactivity gap that ends a session.
pub const DEFAULT_GAP_MS: i64 = 30 * 60 * 1000;

/// One session: its id, user and the indices of its events in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub events: Vec<usize>,
}

/// Assigns session ids to events sorted by user then time (see [`super::sort_and_dedup`]).
/// With `resplit`, source session ids are replaced by gap-based ones.
pub fn sessionize(events: &mut [Event], gap_ms: i64, resplit: bool) {
    let mut start = 0;
    while start < events.len() {
        let user_end = start
            + events[start..]
                .iter()
                .take_while(|e| e.user_id == events[start].user_id)
                .count();
        let mut number = 0;
        for i in start..user_end {
            if i > start && events[i].timestamp_ms - events[i - 1].timestamp_ms > gap_ms {
                number += 1;
            }
            if resplit || events[i].session_id.is_none() {
                events[i].session_id = Some(format!("{}#{number}", events[i].user_id));
            }
        }
        start = user_end;
    }
}

/// Groups sessionised events into sessions, ordered by first event time (then id, for ties).
pub fn sessions(events: &[Event]) -> Vec<Session> {
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut sessions: Vec<Session> = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let id = event
            .session_id
            .as_deref()
            .expect("sessions() needs sessionised events");
        let slot = *by_id.entry(id).or_insert_with(|| {
            sessions.push(Session {
                id: id.to_string(),
                user_id: event.user_id.clone(),
                events: Vec::new(),
            });
            sessions.len() - 1
        });
        sessions[slot].events.push(i);
    }
    for session in &mut sessions {
        session.events.sort_by_key(|&i| events[i].timestamp_ms);
    }
    sessions.sort_by(|a, b| {
        (events[a.events[0]].timestamp_ms, &a.id).cmp(&(events[b.events[0]].timestamp_ms, &b.id))
    });
    sessions
}

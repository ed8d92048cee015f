//! Labels per (session, item): was the item clicked, put in the cart, purchased, within the session
//! or within a horizon after it was first seen there. Computed on one split's events at a time, so a
//! label never looks past that split's end.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::sessionize::Session;
use crate::events::{Event, EventType};

/// How far after an item is first seen in a session its outcome counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelWindow {
    /// Until the session ends.
    Session,
    /// This many milliseconds after first seen, in any session of the same user.
    Horizon(i64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub session_id: String,
    pub user_id: String,
    pub item_id: String,
    /// When the item first appears in the session (Unix ms).
    pub first_seen_ms: i64,
    pub clicked: bool,
    pub carted: bool,
    pub purchased: bool,
}

/// One label per distinct item of each session, sessions in the order given, items by first sight.
pub fn labels(events: &[Event], sessions: &[Session], window: LabelWindow) -> Vec<Label> {
    // (user, item) -> event indices in time order, for the horizon window.
    let mut by_user_item: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    if let LabelWindow::Horizon(_) = window {
        for session in sessions {
            for &i in &session.events {
                by_user_item
                    .entry((&events[i].user_id, &events[i].item_id))
                    .or_default()
                    .push(i);
            }
        }
        for indices in by_user_item.values_mut() {
            indices.sort_by_key(|&i| events[i].timestamp_ms);
        }
    }
    let mut out = Vec::new();
    for session in sessions {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for &i in &session.events {
            let event = &events[i];
            let slot = *seen.entry(&event.item_id).or_insert_with(|| {
                out.push(Label {
                    session_id: session.id.clone(),
                    user_id: session.user_id.clone(),
                    item_id: event.item_id.clone(),
                    first_seen_ms: event.timestamp_ms,
                    clicked: false,
                    carted: false,
                    purchased: false,
                });
                out.len() - 1
            });
            if window == LabelWindow::Session {
                mark(&mut out[slot], &event.event_type);
            }
        }
        if let LabelWindow::Horizon(horizon_ms) = window {
            for &slot in seen.values() {
                let label = &mut out[slot];
                let until = label.first_seen_ms.saturating_add(horizon_ms);
                let outcomes: Vec<EventType> = by_user_item
                    [&(label.user_id.as_str(), label.item_id.as_str())]
                    .iter()
                    .map(|&i| &events[i])
                    .filter(|e| (label.first_seen_ms..=until).contains(&e.timestamp_ms))
                    .map(|e| e.event_type.clone())
                    .collect();
                for event_type in &outcomes {
                    mark(label, event_type);
                }
            }
        }
    }
    out
}

fn mark(label: &mut Label, event_type: &EventType) {
    match event_type {
        EventType::Click => label.clicked = true,
        EventType::AddToCart => label.carted = true,
        EventType::Purchase => label.purchased = true,
        EventType::View | EventType::RemoveFromCart | EventType::Custom(_) => {}
    }
}

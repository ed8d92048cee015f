//! On-device user state: the events of the current session, kept in memory so that the next
//! recommendation reflects them at once (`track`, then `recommend`), with no round trip.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::api::{Event, RecommendRequest, MAX_HISTORY};
use crate::error::RequestError;

/// The session's most recent events, oldest first, at most [`MAX_HISTORY`] (older ones are
/// dropped as new ones arrive).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Session {
    events: VecDeque<Event>,
}

impl Session {
    pub fn new() -> Self {
        Session::default()
    }

    /// A session holding these events (e.g. restored from storage), each checked as by
    /// [`Self::track`]; only the last [`MAX_HISTORY`] are kept.
    pub fn from_events(events: Vec<Event>) -> Result<Self, RequestError> {
        let mut session = Session::new();
        for (i, event) in events.into_iter().enumerate() {
            session.track(event).map_err(|e| match e {
                RequestError::InvalidField { field, message } => RequestError::InvalidField {
                    field: format!("events[{i}].{field}"),
                    message,
                },
                other => other,
            })?;
        }
        Ok(session)
    }

    /// Adds an event. Refused (`invalid_field`) if its id is empty or its time is earlier than
    /// the last timed event's.
    pub fn track(&mut self, event: Event) -> Result<(), RequestError> {
        if event.id.is_empty() {
            return Err(RequestError::InvalidField {
                field: "id".to_string(),
                message: "is empty".to_string(),
            });
        }
        if let (Some(t), Some(last)) = (event.time, self.events.iter().rev().find_map(|e| e.time)) {
            if t < last {
                return Err(RequestError::InvalidField {
                    field: "time".to_string(),
                    message: format!(
                        "{t} is earlier than the last tracked event's time {last}; track events in order"
                    ),
                });
            }
        }
        if self.events.len() == MAX_HISTORY {
            self.events.pop_front();
        }
        self.events.push_back(event);
        Ok(())
    }

    pub fn events(&self) -> impl ExactSizeIterator<Item = &Event> {
        self.events.iter()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// `request` with this session's events as its `events`; it must not carry a session itself.
    pub fn request(&self, request: &RecommendRequest) -> Result<RecommendRequest, RequestError> {
        for (field, given) in [
            ("history", request.history.is_some()),
            ("events", request.events.is_some()),
        ] {
            if given {
                return Err(RequestError::InvalidField {
                    field: field.to_string(),
                    message:
                        "the tracked session supplies the events; leave out `history` and `events`"
                            .to_string(),
                });
            }
        }
        Ok(RecommendRequest {
            events: Some(self.events.iter().cloned().collect()),
            ..request.clone()
        })
    }

    /// Parses a JSON request for this session (no `history` or `events`) and validates it.
    pub fn request_from_json(&self, body: &[u8]) -> Result<RecommendRequest, RequestError> {
        let partial = RecommendRequest::parse_unvalidated(body)?;
        let request = self.request(&partial)?;
        request.validate()?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EventType;

    fn timed(id: &str, time: u64) -> Event {
        Event {
            id: id.to_string(),
            kind: EventType::Click,
            time: Some(time),
        }
    }

    #[test]
    fn keeps_the_most_recent_in_order() {
        let mut s = Session::new();
        for i in 0..MAX_HISTORY + 5 {
            s.track(timed(&i.to_string(), i as u64)).unwrap();
        }
        assert_eq!(s.len(), MAX_HISTORY);
        assert_eq!(s.events().next().unwrap().id, "5");
        assert_eq!(s.events().last().unwrap().id, (MAX_HISTORY + 4).to_string());
        s.clear();
        assert!(s.is_empty());
    }

    #[test]
    fn refuses_bad_events() {
        let mut s = Session::new();
        s.track(timed("a", 10)).unwrap();
        s.track(Event::view("b")).unwrap();
        let e = s.track(timed("c", 9)).unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("time")));
        let e = s.track(Event::view("")).unwrap_err();
        assert_eq!(e.field(), Some("id"));
        assert_eq!(s.len(), 2, "refused events are not kept");
        let e = Session::from_events(vec![timed("a", 2), timed("b", 1)]).unwrap_err();
        assert_eq!(e.field(), Some("events[1].time"));
    }

    #[test]
    fn requests_take_the_session() {
        let mut s = Session::new();
        s.track(Event::view("a")).unwrap();
        let r = s.request_from_json(br#"{"k": 3, "slot": "home"}"#).unwrap();
        assert_eq!(r.events.as_ref().unwrap().len(), 1);
        assert_eq!(r.k, 3);
        let e = s.request_from_json(br#"{"history": ["x"]}"#).unwrap_err();
        assert_eq!(e.field(), Some("history"));
        let e = s.request_from_json(br#"{"k": 0}"#).unwrap_err();
        assert_eq!(e.field(), Some("k"));
        let e = s.request_from_json(br#"{"kk": 0}"#).unwrap_err();
        assert_eq!(e.code(), "unknown_field");
    }
}

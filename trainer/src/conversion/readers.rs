//! TEMPORARY: replaced by ingest::read_events at merge. The two source formats the purchase task
//! reads, each turned into canonical [`Event`]s, with errors naming file, line and field.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::features::CATEGORY_FIELD;
use crate::events::{Event, EventType};

// TEMPORARY: replaced by ingest::read_events at merge
/// Reads a Taobao UserBehavior CSV (no header; `user_id,item_id,category_id,behavior,timestamp`,
/// behavior one of pv, cart, fav, buy; Unix seconds). `fav` becomes `Custom("fav")`, the category
/// goes to `context["category_id"]`.
pub fn read_taobao_csv(path: &Path) -> Result<Vec<Event>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), index + 1);
        let fields: Vec<&str> = line.split(',').collect();
        let [user_id, item_id, category_id, behavior, timestamp] = fields[..] else {
            bail!(
                "{}: expected 5 fields (user_id,item_id,category_id,behavior,timestamp), found {}",
                at(),
                fields.len()
            );
        };
        let event_type = match behavior {
            "pv" => EventType::View,
            "cart" => EventType::AddToCart,
            "fav" => EventType::Custom("fav".to_string()),
            "buy" => EventType::Purchase,
            other => bail!(
                "{}: field `behavior`: unknown value {other:?} (expected pv, cart, fav or buy)",
                at()
            ),
        };
        let seconds: i64 = timestamp.trim().parse().with_context(|| {
            format!(
                "{}: field `timestamp`: {timestamp:?} is not Unix seconds",
                at()
            )
        })?;
        events.push(Event {
            user_id: user_id.to_string(),
            session_id: None,
            timestamp_ms: seconds * 1000,
            event_type,
            item_id: item_id.to_string(),
            price: None,
            quantity: None,
            context: [(CATEGORY_FIELD.to_string(), category_id.to_string())].into(),
        });
    }
    Ok(events)
}

// TEMPORARY: replaced by ingest::read_events at merge
/// Reads a REES46 export (header `event_time,event_type,product_id,category_id,category_code,
/// brand,price,user_id,user_session`; times like `2019-10-01 00:00:00 UTC`). The category id,
/// category path and brand go to `context`, the session to `session_id`.
pub fn read_rees46_csv(path: &Path) -> Result<Vec<Event>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines().enumerate();
    const HEADER: &str =
        "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
    match lines.next() {
        Some((_, header)) if header.trim() == HEADER => {}
        _ => bail!("{}:1: expected the header {HEADER}", path.display()),
    }
    let mut events = Vec::new();
    for (index, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), index + 1);
        let fields: Vec<&str> = line.split(',').collect();
        let [time, event_type, product_id, category_id, category_code, brand, price, user_id, session] =
            fields[..]
        else {
            bail!("{}: expected 9 fields, found {}", at(), fields.len());
        };
        let event_type = match event_type {
            "view" => EventType::View,
            "cart" => EventType::AddToCart,
            "remove_from_cart" => EventType::RemoveFromCart,
            "purchase" => EventType::Purchase,
            other => bail!("{}: field `event_type`: unknown value {other:?} (expected view, cart, remove_from_cart or purchase)", at()),
        };
        let timestamp = humantime::parse_rfc3339_weak(time.trim_end_matches(" UTC"))
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .with_context(|| {
                format!(
                    "{}: field `event_time`: {time:?} is not like 2019-10-01 00:00:00 UTC",
                    at()
                )
            })?;
        let price = match price {
            "" => None,
            text => Some(
                text.parse::<f64>()
                    .ok()
                    .filter(|p| p.is_finite() && *p >= 0.0)
                    .with_context(|| {
                        format!(
                            "{}: field `price`: {text:?} is not a non-negative number",
                            at()
                        )
                    })?,
            ),
        };
        let context = [
            (CATEGORY_FIELD, category_id),
            ("category_code", category_code),
            ("brand", brand),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        events.push(Event {
            user_id: user_id.to_string(),
            session_id: Some(session.to_string()).filter(|s| !s.is_empty()),
            timestamp_ms: timestamp.as_millis() as i64,
            event_type,
            item_id: product_id.to_string(),
            price,
            quantity: None,
            context,
        });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rees46_rows_become_events_and_bad_fields_are_named() {
        let dir = std::env::temp_dir().join(format!("edgerec-rees46-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rees.csv");
        let header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
        // Two real rows of the REES46 file.
        fs::write(&path, format!("{header}\n2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3-4e00-8c23-a032dfed738c\n2019-10-01 00:00:00 UTC,view,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,554748717,9333dfbd-b87a-4708-9857-6336556b0fcc\n")).unwrap();
        let events = read_rees46_csv(&path).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].timestamp_ms, 1_569_888_000_000);
        assert_eq!(events[1].price, Some(33.2));
        assert_eq!(
            events[1].context["category_code"],
            "appliances.environment.water_heater"
        );
        assert!(!events[0].context.contains_key("category_code"));

        fs::write(
            &path,
            format!("{header}\n2019-10-01 00:00:00 UTC,view,1,2,,b,cheap,3,s\n"),
        )
        .unwrap();
        let error = format!("{:#}", read_rees46_csv(&path).unwrap_err());
        assert!(
            error.contains("rees.csv:2") && error.contains("`price`"),
            "{error}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}

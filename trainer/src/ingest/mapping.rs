//! The declarative mapping file (TOML) that says how a shop's export becomes [`Event`]s and
//! [`CatalogItem`]s: the source format, which column is which field, how event values map to event
//! types and how times are written. See `docs/mappings.md` for a guide and `mappings/` for examples.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::reject::{RejectReason, Rejection};
use crate::events::{CatalogItem, Event, EventType};

/// A whole mapping file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Short data set name, e.g. `rees46`.
    pub name: String,
    /// What the data is and where it comes from, in words.
    #[serde(default)]
    pub description: String,
    pub source: Source,
    /// How rows become events; absent for catalog-only data (e.g. product reviews).
    pub events: Option<EventMapping>,
    /// How rows become catalog entries; absent when the file holds no item attributes.
    pub catalog: Option<CatalogMapping>,
}

/// The file format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// Delimited text. With `header = false`, `columns` names the columns in order.
    Csv {
        #[serde(default = "default_delimiter")]
        delimiter: char,
        #[serde(default = "default_true")]
        header: bool,
        #[serde(default)]
        columns: Vec<String>,
    },
    /// One JSON object per line; columns are the objects' keys.
    Jsonl,
    /// Parquet, read row by row; columns are the top-level schema fields.
    Parquet,
    /// One sequence per line, item ids separated by whitespace, in the order they happened
    /// (DIGINETICA `train_sessions.txt`, Amazon `Beauty.txt`). There are no times: event `k` of a line
    /// (from 0) gets the synthetic time `k * step_ms` ms, so order is kept and nothing else is implied.
    Sessions {
        /// The first token of each line is the user id (Amazon); otherwise the line number is.
        #[serde(default)]
        user_first: bool,
        #[serde(default = "default_step_ms")]
        step_ms: i64,
    },
}

fn default_delimiter() -> char {
    ','
}
fn default_true() -> bool {
    true
}
fn default_step_ms() -> i64 {
    1000
}

/// What to do with an event value the `types` table does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownEvents {
    /// Reject the row (reason `unknown_event`).
    #[default]
    Reject,
    /// Keep it as [`EventType::Custom`] with the source value as its name.
    Custom,
}

/// Optional event fields that a mapping can make required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionalField {
    SessionId,
    Price,
    Quantity,
}

/// Column names for each event field. User, item, time and event type are always required.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMapping {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub timestamp: Option<String>,
    /// `unix_s`, `unix_ms`, `rfc3339`, or a chrono format string such as `%Y-%m-%d %H:%M:%S UTC`
    /// (times without an offset are read as UTC).
    pub time_format: Option<String>,
    pub event_type: Option<String>,
    /// The event type of every row when there is no event type column (e.g. `view`).
    pub default_event_type: Option<String>,
    /// Source value -> event type: `view`, `click`, `add_to_cart`, `remove_from_cart`, `purchase`,
    /// or `custom:<name>`. Empty: the values must be those canonical names themselves.
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    #[serde(default)]
    pub unknown_events: UnknownEvents,
    pub item_id: Option<String>,
    pub price: Option<String>,
    pub quantity: Option<String>,
    /// Columns kept verbatim in `Event::context`, under their column names.
    #[serde(default)]
    pub context: Vec<String>,
    /// Optional fields that must be present too; rows without them are rejected (`missing_field`).
    #[serde(default)]
    pub required: Vec<OptionalField>,
}

/// Column names for each catalog field. Every row gives one entry (a reviews file: one per review).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogMapping {
    pub item_id: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Columns that make the category path, root first; each is split on `category_separator`.
    #[serde(default)]
    pub category_path: Vec<String>,
    pub category_separator: Option<String>,
    pub brand: Option<String>,
    pub price: Option<String>,
    /// `true`/`false`, `1`/`0`, `yes`/`no`, `in stock`/`out of stock`.
    pub available: Option<String>,
    /// Columns kept verbatim in `CatalogItem::attributes`, under their column names.
    #[serde(default)]
    pub attributes: Vec<String>,
}

/// Access to one source row's fields by column name; what each reader provides.
pub(crate) trait Fields {
    /// The value of `column`: `None` when absent or blank, a rejection (`encoding`) when not UTF-8.
    fn get(&self, column: &str) -> Result<Option<Cow<'_, str>>, Rejection>;
}

/// A parsed time format, borrowing the mapping's pattern (it is parsed for every row: no allocation).
#[derive(Debug, Clone, Copy, PartialEq)]
enum TimeFormat<'a> {
    UnixSeconds,
    UnixMillis,
    Rfc3339,
    /// A chrono pattern; `with_offset` when it parses a UTC offset (`%z`, `%:z`).
    Pattern {
        pattern: &'a str,
        with_offset: bool,
    },
}

impl<'a> TimeFormat<'a> {
    fn parse_spec(spec: &'a str) -> TimeFormat<'a> {
        match spec {
            "unix_s" => TimeFormat::UnixSeconds,
            "unix_ms" => TimeFormat::UnixMillis,
            "rfc3339" => TimeFormat::Rfc3339,
            pattern => TimeFormat::Pattern {
                pattern,
                with_offset: pattern.contains("%z") || pattern.contains("%:z"),
            },
        }
    }

    /// Unix milliseconds, or `None` when the text does not parse.
    fn to_millis(self, text: &str) -> Option<i64> {
        let text = text.trim();
        match self {
            TimeFormat::UnixSeconds => text.parse::<i64>().ok()?.checked_mul(1000),
            TimeFormat::UnixMillis => text.parse().ok(),
            TimeFormat::Rfc3339 => {
                Some(DateTime::parse_from_rfc3339(text).ok()?.timestamp_millis())
            }
            TimeFormat::Pattern {
                pattern,
                with_offset: true,
            } => Some(
                DateTime::parse_from_str(text, pattern)
                    .ok()?
                    .timestamp_millis(),
            ),
            TimeFormat::Pattern { pattern, .. } => Some(
                NaiveDateTime::parse_from_str(text, pattern)
                    .ok()?
                    .and_utc()
                    .timestamp_millis(),
            ),
        }
    }
}

/// The canonical name of an event type, or `custom:<name>`, as written in mapping files.
fn event_type_from_name(name: &str) -> Option<EventType> {
    Some(match name {
        "view" => EventType::View,
        "click" => EventType::Click,
        "add_to_cart" => EventType::AddToCart,
        "remove_from_cart" => EventType::RemoveFromCart,
        "purchase" => EventType::Purchase,
        _ => EventType::Custom(name.strip_prefix("custom:")?.to_string()),
    })
}

impl Mapping {
    /// Reads and checks a mapping file.
    pub fn load(path: &Path) -> Result<Mapping> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read mapping {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("invalid mapping {}", path.display()))
    }

    pub fn from_toml(text: &str) -> Result<Mapping> {
        let mapping: Mapping = toml::from_str(text)?;
        mapping.validate()?;
        Ok(mapping)
    }

    /// Checks what serde cannot: fields that must be mapped for the format, and the event type names.
    fn validate(&self) -> Result<()> {
        if self.events.is_none() && self.catalog.is_none() {
            bail!("the mapping has neither [events] nor [catalog]");
        }
        if let Source::Csv {
            header: false,
            columns,
            ..
        } = &self.source
        {
            if columns.is_empty() {
                bail!("[source] header = false needs `columns`, the column names in order");
            }
        }
        let is_sessions = matches!(self.source, Source::Sessions { .. });
        if is_sessions && self.catalog.is_some() {
            bail!("the sessions format holds only item ids: it cannot have a [catalog]");
        }
        if let Some(events) = &self.events {
            if !is_sessions {
                for (field, column) in [
                    ("user_id", &events.user_id),
                    ("timestamp", &events.timestamp),
                    ("item_id", &events.item_id),
                ] {
                    if column.is_none() {
                        bail!("[events] needs `{field}`, the column that holds it");
                    }
                }
                if events.time_format.is_none() {
                    bail!("[events] needs `time_format` (unix_s, unix_ms, rfc3339 or a chrono pattern)");
                }
            }
            if events.event_type.is_none() && events.default_event_type.is_none() {
                bail!("[events] needs `event_type` (a column) or `default_event_type`");
            }
            for name in events.types.values().chain(&events.default_event_type) {
                if event_type_from_name(name).is_none() {
                    bail!(
                        "unknown event type `{name}`: use view, click, add_to_cart, \
                         remove_from_cart, purchase or custom:<name>"
                    );
                }
            }
        }
        Ok(())
    }

    /// Every column the mapping reads, so readers that know their columns can check them up front.
    pub fn columns(&self) -> Vec<&str> {
        let mut columns: Vec<&str> = Vec::new();
        if let Some(e) = &self.events {
            columns.extend(
                [
                    &e.user_id,
                    &e.session_id,
                    &e.timestamp,
                    &e.event_type,
                    &e.item_id,
                    &e.price,
                    &e.quantity,
                ]
                .into_iter()
                .flatten()
                .map(String::as_str),
            );
            columns.extend(e.context.iter().map(String::as_str));
        }
        if let Some(c) = &self.catalog {
            columns.push(&c.item_id);
            columns.extend(
                [&c.title, &c.description, &c.brand, &c.price, &c.available]
                    .into_iter()
                    .flatten()
                    .map(String::as_str),
            );
            columns.extend(c.category_path.iter().map(String::as_str));
            columns.extend(c.attributes.iter().map(String::as_str));
        }
        columns.sort_unstable();
        columns.dedup();
        columns
    }
}

/// A required field's value, or a `missing_field` rejection naming it.
fn required<'a>(row: &'a dyn Fields, column: &str) -> Result<Cow<'a, str>, Rejection> {
    row.get(column)?
        .ok_or_else(|| Rejection::new(RejectReason::MissingField, column, ""))
}

fn optional<'a>(
    row: &'a dyn Fields,
    column: Option<&String>,
    is_required: bool,
) -> Result<Option<Cow<'a, str>>, Rejection> {
    match column {
        Some(column) if is_required => required(row, column).map(Some),
        Some(column) => row.get(column),
        None => Ok(None),
    }
}

/// A price: finite (`bad_number`) and not negative (`negative_price`).
fn parse_price(column: &str, text: &str) -> Result<f64, Rejection> {
    match text.trim().parse::<f64>() {
        Ok(price) if price.is_finite() && price >= 0.0 => Ok(price),
        Ok(price) if price < 0.0 => Err(Rejection::new(RejectReason::NegativePrice, column, text)),
        _ => Err(Rejection::new(RejectReason::BadNumber, column, text)),
    }
}

impl EventMapping {
    fn requires(&self, field: OptionalField) -> bool {
        self.required.contains(&field)
    }

    /// The event type of a source value, following `types` and `unknown_events`.
    pub fn event_type(&self, value: &str) -> Option<EventType> {
        let mapped = if self.types.is_empty() {
            event_type_from_name(value).filter(|t| !matches!(t, EventType::Custom(_)))
        } else {
            self.types
                .get(value)
                .and_then(|name| event_type_from_name(name))
        };
        match (mapped, self.unknown_events) {
            (Some(event_type), _) => Some(event_type),
            (None, UnknownEvents::Custom) => Some(EventType::Custom(value.to_string())),
            (None, UnknownEvents::Reject) => None,
        }
    }

    /// The type given to every event when there is no event type column.
    pub(crate) fn default_type(&self) -> Option<EventType> {
        self.default_event_type
            .as_deref()
            .and_then(event_type_from_name)
    }

    /// One row as an event, or the first thing wrong with it. Fields are checked in a fixed order
    /// (user, item, time, event type, session, price, quantity) so a row always gets the same reason.
    pub(crate) fn to_event<'a>(&'a self, row: &dyn Fields) -> Result<Event, Rejection> {
        // The row formats always map these (checked by `Mapping::validate`).
        let column = |c: &'a Option<String>| c.as_deref().unwrap_or_default();
        let user_id = required(row, column(&self.user_id))?.into_owned();
        let item_id = required(row, column(&self.item_id))?.into_owned();
        let time_column = column(&self.timestamp);
        let time_text = required(row, time_column)?;
        let time_format = TimeFormat::parse_spec(self.time_format.as_deref().unwrap_or("unix_s"));
        let timestamp_ms = time_format
            .to_millis(&time_text)
            .ok_or_else(|| Rejection::new(RejectReason::BadTime, time_column, &time_text))?;
        let event_type = match &self.event_type {
            Some(type_column) => {
                let value = required(row, type_column)?;
                self.event_type(&value).ok_or_else(|| {
                    Rejection::new(RejectReason::UnknownEvent, type_column, &value)
                })?
            }
            None => self
                .default_type()
                .expect("validated: a default event type"),
        };
        let session_id = optional(
            row,
            self.session_id.as_ref(),
            self.requires(OptionalField::SessionId),
        )?
        .map(Cow::into_owned);
        let price = optional(
            row,
            self.price.as_ref(),
            self.requires(OptionalField::Price),
        )?
        .map(|text| parse_price(column(&self.price), &text))
        .transpose()?;
        let quantity = optional(
            row,
            self.quantity.as_ref(),
            self.requires(OptionalField::Quantity),
        )?
        .map(|text| {
            text.trim()
                .parse::<u32>()
                .map_err(|_| Rejection::new(RejectReason::BadNumber, column(&self.quantity), &text))
        })
        .transpose()?;
        let mut context = BTreeMap::new();
        for name in &self.context {
            if let Some(value) = row.get(name)? {
                context.insert(name.clone(), value.into_owned());
            }
        }
        Ok(Event {
            user_id,
            session_id,
            timestamp_ms,
            event_type,
            item_id,
            price,
            quantity,
            context,
        })
    }
}

impl CatalogMapping {
    /// One row as a catalog entry, or the first thing wrong with it.
    pub(crate) fn to_item(&self, row: &dyn Fields) -> Result<CatalogItem, Rejection> {
        let text = |column: &Option<String>| -> Result<Option<String>, Rejection> {
            Ok(optional(row, column.as_ref(), false)?.map(Cow::into_owned))
        };
        let item_id = required(row, &self.item_id)?.into_owned();
        let mut category_path = Vec::new();
        for column in &self.category_path {
            let Some(value) = row.get(column)? else {
                break; // a path stops at its first unknown level
            };
            match &self.category_separator {
                Some(separator) => category_path.extend(
                    value
                        .split(separator.as_str())
                        .filter(|part| !part.is_empty())
                        .map(str::to_string),
                ),
                None => category_path.push(value.into_owned()),
            }
        }
        let price = match &self.price {
            Some(column) => row
                .get(column)?
                .map(|text| parse_price(column, &text))
                .transpose()?,
            None => None,
        };
        let available = match &self.available {
            Some(column) => row
                .get(column)?
                .map(|text| match text.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "in stock" => Ok(true),
                    "false" | "0" | "no" | "out of stock" => Ok(false),
                    _ => Err(Rejection::new(RejectReason::BadNumber, column, &text)),
                })
                .transpose()?,
            None => None,
        };
        let mut attributes = BTreeMap::new();
        for name in &self.attributes {
            if let Some(value) = row.get(name)? {
                attributes.insert(name.clone(), value.into_owned());
            }
        }
        Ok(CatalogItem {
            item_id,
            title: text(&self.title)?,
            description: text(&self.description)?,
            category_path,
            brand: text(&self.brand)?,
            price,
            available,
            attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_each_format() {
        let rees = TimeFormat::parse_spec("%Y-%m-%d %H:%M:%S UTC");
        assert_eq!(
            rees.to_millis("2019-10-01 00:00:00 UTC"),
            Some(1_569_888_000_000)
        );
        assert_eq!(rees.to_millis("2019-10-01"), None);
        let unix = TimeFormat::parse_spec("unix_s");
        assert_eq!(unix.to_millis("1511658000"), Some(1_511_658_000_000));
        assert_eq!(unix.to_millis("15116x8000"), None);
        let rfc = TimeFormat::parse_spec("rfc3339");
        assert_eq!(
            rfc.to_millis("2019-10-01T02:00:00+02:00"),
            Some(1_569_888_000_000)
        );
    }

    #[test]
    fn bad_mappings_are_refused_with_a_reason() {
        let no_time = "name = 'x'\n[source]\nformat = 'jsonl'\n[events]\nuser_id = 'u'\nitem_id = 'i'\ndefault_event_type = 'view'\n";
        let err = Mapping::from_toml(no_time).unwrap_err().to_string();
        assert!(err.contains("timestamp"), "{err}");
        let bad_type =
            "name = 'x'\n[source]\nformat = 'sessions'\n[events]\ndefault_event_type = 'seen'\n";
        let err = Mapping::from_toml(bad_type).unwrap_err().to_string();
        assert!(err.contains("`seen`"), "{err}");
        let typo = "name = 'x'\n[source]\nformat = 'sessions'\nuser_frist = true\n[events]\ndefault_event_type = 'view'\n";
        assert!(Mapping::from_toml(typo).is_err());
    }
}

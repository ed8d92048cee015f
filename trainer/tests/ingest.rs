//! The readers and mappings on the real samples in `data/` (see data/README.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use edgerec_trainer::events::EventType;
use edgerec_trainer::ingest::{read_catalog, read_events, Mapping, RejectReason, UnknownEvents};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn mapping(name: &str) -> Mapping {
    Mapping::load(&repo(&format!("mappings/{name}.toml"))).expect("shipped mapping loads")
}

fn type_counts(events: &[edgerec_trainer::events::Event]) -> BTreeMap<EventType, usize> {
    let mut counts = BTreeMap::new();
    for event in events {
        *counts.entry(event.event_type.clone()).or_default() += 1;
    }
    counts
}

#[test]
fn rees46_sample_reads_every_row() {
    let (events, report) = read_events(
        &mapping("rees46"),
        &repo("data/rees46/events_head2000.csv"),
        true,
    )
    .unwrap();
    assert_eq!((report.rows_read, report.rows_accepted), (2000, 2000));
    assert_eq!(events.len(), 2000);
    let counts = type_counts(&events);
    assert_eq!(counts[&EventType::View], 1973);
    assert_eq!(counts[&EventType::AddToCart], 8);
    assert_eq!(counts[&EventType::Purchase], 19);
    // 2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-...
    let first = &events[0];
    assert_eq!(first.user_id, "541312140");
    assert_eq!(first.item_id, "44600062");
    assert_eq!(first.timestamp_ms, 1_569_888_000_000);
    assert_eq!(first.price, Some(35.79));
    assert_eq!(
        first.session_id.as_deref(),
        Some("72d76fde-8bb3-4e00-8c23-a032dfed738c")
    );
    assert_eq!(
        first.context.get("brand").map(String::as_str),
        Some("shiseido")
    );
    assert!(
        !first.context.contains_key("category_code"),
        "blank fields are not kept"
    );
}

#[test]
fn rees46_catalog_splits_the_category_path() {
    let (items, report) = read_catalog(
        &mapping("rees46"),
        &repo("data/rees46/events_head2000.csv"),
        true,
    )
    .unwrap();
    assert_eq!(report.rows_accepted, 2000);
    // Row 2: ...,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,...
    let heater = &items[1];
    assert_eq!(heater.item_id, "3900821");
    assert_eq!(
        heater.category_path,
        ["appliances", "environment", "water_heater"]
    );
    assert_eq!(heater.brand.as_deref(), Some("aqua"));
    assert_eq!(heater.price, Some(33.2));
    assert_eq!(items[0].category_path, Vec::<String>::new());
}

#[test]
fn taobao_sample_maps_behaviours_and_unix_seconds() {
    let (events, report) = read_events(
        &mapping("taobao"),
        &repo("data/taobao/UserBehavior_head3000.csv"),
        true,
    )
    .unwrap();
    assert_eq!(report.rows_accepted, 3000);
    let counts = type_counts(&events);
    assert_eq!(counts[&EventType::View], 2684);
    assert_eq!(counts[&EventType::AddToCart], 161);
    assert_eq!(counts[&EventType::Custom("fav".into())], 95);
    assert_eq!(counts[&EventType::Purchase], 60);
    // 543462,1715,1464116,pv,1511658000
    assert_eq!(events[0].user_id, "543462");
    assert_eq!(events[0].item_id, "1715");
    assert_eq!(events[0].timestamp_ms, 1_511_658_000_000);
    assert_eq!(events[0].session_id, None);
    assert_eq!(events[0].context["category_id"], "1464116");
}

#[test]
fn diginetica_sessions_get_line_ids_and_ordered_synthetic_times() {
    let path = repo("data/diginetica/train_sessions.txt");
    let (events, report) = read_events(&mapping("diginetica"), &path, true).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(report.rows_accepted, 30_000);
    assert_eq!(
        events.len(),
        text.split_ascii_whitespace().count(),
        "one view per item id"
    );
    let first_line: Vec<&str> = text.lines().next().unwrap().split(' ').collect();
    let first: Vec<_> = events.iter().take(first_line.len()).collect();
    for (k, (event, item)) in first.iter().zip(&first_line).enumerate() {
        assert_eq!(event.item_id, *item);
        assert_eq!(event.session_id.as_deref(), Some("1"));
        assert_eq!(event.timestamp_ms, k as i64 * 1000);
        assert_eq!(event.event_type, EventType::View);
    }
}

#[test]
fn amazon_sequences_take_the_user_from_the_first_token() {
    let (events, report) = read_events(
        &mapping("amazon-beauty"),
        &repo("data/amazon-beauty/Beauty_head300.txt"),
        true,
    )
    .unwrap();
    assert_eq!(report.rows_accepted, 300);
    // Line 1: `1 1 2 3 4 5`
    let user_1: Vec<&str> = events
        .iter()
        .filter(|e| e.user_id == "1")
        .map(|e| e.item_id.as_str())
        .collect();
    assert_eq!(user_1, ["1", "2", "3", "4", "5"]);
    assert_eq!(events[0].event_type, EventType::Custom("review".into()));
}

#[test]
fn womens_reviews_parquet_gives_one_entry_per_review() {
    let (items, report) = read_catalog(
        &mapping("womens-reviews"),
        &repo("data/womens-reviews/reviews_head400.parquet"),
        true,
    )
    .unwrap();
    assert_eq!((report.rows_read, report.rows_accepted), (400, 400));
    let first = &items[0];
    assert_eq!(first.item_id, "767");
    assert_eq!(first.category_path, ["Initmates", "Intimate", "Intimates"]);
    assert_eq!(first.attributes["Rating"], "4");
    assert_eq!(first.attributes["Recommended IND"], "1");
    assert!(first
        .description
        .as_deref()
        .unwrap()
        .starts_with("Absolutely wonderful"));
    assert!(items.iter().all(|i| i.attributes.contains_key("Rating")));
}

#[test]
fn each_broken_row_is_counted_under_its_own_reason_with_its_line() {
    let path = repo("data/rees46/bad_rows.csv");
    let (events, report) = read_events(&mapping("rees46"), &path, false).unwrap();
    assert_eq!(report.rows_read, 9);
    assert_eq!(report.rows_accepted, 2);
    assert_eq!(events.len(), 2);
    let expected = [
        (3, RejectReason::BadTime, "event_time"),
        (4, RejectReason::NegativePrice, "price"),
        (5, RejectReason::UnknownEvent, "event_type"),
        (6, RejectReason::MissingField, "user_id"),
        (7, RejectReason::Encoding, "brand"),
        (8, RejectReason::BadNumber, "price"),
        (9, RejectReason::Malformed, ""),
    ];
    for (line, reason, field) in expected {
        assert_eq!(report.count(reason), 1, "{reason}");
        let example = report.examples.iter().find(|e| e.reason == reason).unwrap();
        assert_eq!((example.line, example.field.as_str()), (line, field));
        assert!(example.file.ends_with("bad_rows.csv"));
    }
    assert_eq!(report.examples[1].value, "-543.10");
    let printed = report.to_string();
    assert!(
        printed.contains("bad_rows.csv:5: unknown_event in field `event_type`: \"wishlist\""),
        "{printed}"
    );
}

#[test]
fn strict_mode_fails_on_the_first_bad_row_with_file_and_line() {
    let path = repo("data/rees46/bad_rows.csv");
    let err = read_events(&mapping("rees46"), &path, true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad_rows.csv:3: bad_time"), "{err}");
    assert!(err.contains("24:61:00"), "{err}");
}

#[test]
fn unknown_events_can_be_kept_as_custom_types() {
    let mut keep = mapping("rees46");
    keep.events.as_mut().unwrap().unknown_events = UnknownEvents::Custom;
    let (events, report) = read_events(&keep, &repo("data/rees46/bad_rows.csv"), false).unwrap();
    assert_eq!(report.count(RejectReason::UnknownEvent), 0);
    assert!(events
        .iter()
        .any(|e| e.event_type == EventType::Custom("wishlist".into())));
}

#[test]
fn a_column_the_file_lacks_stops_the_run_naming_it() {
    let mut wrong = mapping("rees46");
    wrong.events.as_mut().unwrap().price = Some("cost".into());
    let err = read_events(&wrong, &repo("data/rees46/events_head2000.csv"), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`cost`") && err.contains("user_session"),
        "{err}"
    );
}

/// The same real rows as JSON Lines read through a JSON mapping give the same events as the CSV.
#[test]
fn jsonl_reads_the_same_events_as_csv() {
    let csv_path = repo("data/rees46/events_head2000.csv");
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let lines: Vec<String> = reader
        .records()
        .take(200)
        .map(|record| {
            let record = record.unwrap();
            let object: serde_json::Map<String, serde_json::Value> = headers
                .iter()
                .zip(record.iter())
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                .collect();
            serde_json::Value::Object(object).to_string()
        })
        .collect();
    let jsonl_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rees46_head200.jsonl");
    std::fs::write(&jsonl_path, lines.join("\n") + "\n{not json}\n").unwrap();

    let csv_mapping = mapping("rees46");
    let mut json_mapping = csv_mapping.clone();
    json_mapping.source = edgerec_trainer::ingest::Source::Jsonl;
    let (from_json, report) = read_events(&json_mapping, &jsonl_path, false).unwrap();
    let (from_csv, _) = read_events(&csv_mapping, &csv_path, false).unwrap();
    assert_eq!(from_json, from_csv[..200]);
    assert_eq!(report.count(RejectReason::Malformed), 1);
    assert_eq!(report.examples[0].line, 201);
}

/// JSON numbers are read like CSV text; quantities must be non-negative integers. The lines are the
/// sample's first REES46 row, typed as a shop's JSON export would have it, with a quantity added.
#[test]
fn jsonl_numbers_and_quantities() {
    let mapping = Mapping::from_toml(
        r#"
        name = "rees46-json"
        [source]
        format = "jsonl"
        [events]
        user_id = "user_id"
        item_id = "product_id"
        timestamp = "event_time"
        time_format = "%Y-%m-%d %H:%M:%S UTC"
        event_type = "event_type"
        price = "price"
        quantity = "quantity"
        required = ["quantity"]
        [events.types]
        view = "view"
        "#,
    )
    .unwrap();
    let row = |quantity: &str| {
        format!(
            r#"{{"event_time":"2019-10-01 00:00:00 UTC","event_type":"view","product_id":44600062,"price":35.79,"user_id":541312140,"quantity":{quantity}}}"#
        )
    };
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rees46_quantities.jsonl");
    let lines = [row("2"), row("-1"), row("null"), row("\"1.5\"")];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let (events, report) = read_events(&mapping, &path, false).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].user_id.as_str(), events[0].item_id.as_str()),
        ("541312140", "44600062")
    );
    assert_eq!(
        (events[0].price, events[0].quantity),
        (Some(35.79), Some(2))
    );
    assert_eq!(report.count(RejectReason::BadNumber), 2, "-1 and 1.5");
    assert_eq!(
        report.count(RejectReason::MissingField),
        1,
        "null quantity, required"
    );
    assert_eq!(report.examples[0].line, 2);
}

//! Preparation steps on real slices of the samples in `data/`.

use std::path::PathBuf;

use edgerec_trainer::events::Event;
use edgerec_trainer::ingest::{read_catalog, read_events, Mapping};
use edgerec_trainer::prepare::profiles::PriceBucket;
use edgerec_trainer::prepare::{
    build_profiles, labels, prepare, sessionize, sessions, sort_and_dedup, CatalogIndex,
    LabelWindow, PrepareConfig, Scaling, SplitSpec, TimeSplits, DEFAULT_GAP_MS,
};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn rees46() -> (Mapping, Vec<Event>) {
    let mapping = Mapping::load(&repo("mappings/rees46.toml")).unwrap();
    let (events, _) =
        read_events(&mapping, &repo("data/rees46/events_head2000.csv"), true).unwrap();
    (mapping, events)
}

fn of_user(events: &[Event], user: &str) -> Vec<Event> {
    events
        .iter()
        .filter(|e| e.user_id == user)
        .cloned()
        .collect()
}

fn session_ids(events: &[Event]) -> Vec<String> {
    let mut ids: Vec<String> = events.iter().filter_map(|e| e.session_id.clone()).collect();
    ids.dedup();
    ids
}

#[test]
fn exact_duplicates_are_removed_once() {
    let mapping = Mapping::load(&repo("mappings/rees46.toml")).unwrap();
    // bad_rows.csv: line 10 repeats line 2; the rest are rejected.
    let (mut events, _) = read_events(&mapping, &repo("data/rees46/bad_rows.csv"), false).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(sort_and_dedup(&mut events), 1);
    assert_eq!(events.len(), 1);
    let (_, mut clean) = rees46();
    assert_eq!(
        sort_and_dedup(&mut clean),
        0,
        "the sample has no duplicates"
    );
}

#[test]
fn sessions_split_on_the_inactivity_gap() {
    // Taobao user 442221 acts at t, t+6 s, t+18 s, t+123 s; the data has no session ids.
    let mapping = Mapping::load(&repo("mappings/taobao.toml")).unwrap();
    let (events, _) = read_events(
        &mapping,
        &repo("data/taobao/UserBehavior_head3000.csv"),
        true,
    )
    .unwrap();
    let mut user = of_user(&events, "442221");
    sort_and_dedup(&mut user);
    for (gap_ms, expected) in [(DEFAULT_GAP_MS, 1), (60_000, 2), (10_000, 3)] {
        // Re-split: the ids of the previous round would otherwise be kept like source ids.
        sessionize(&mut user, gap_ms, true);
        assert_eq!(session_ids(&user).len(), expected, "gap {gap_ms} ms");
    }
    assert_eq!(session_ids(&user), ["442221#0", "442221#1", "442221#2"]);
}

#[test]
fn source_sessions_are_kept_unless_resplit() {
    // REES46 user 512742880: three source sessions; 8 min between the first two, 2 h before the third.
    let (_, events) = rees46();
    let mut user = of_user(&events, "512742880");
    sort_and_dedup(&mut user);
    sessionize(&mut user, DEFAULT_GAP_MS, false);
    assert_eq!(session_ids(&user).len(), 3);
    assert!(session_ids(&user)[0].starts_with("0d0d91c2"));
    sessionize(&mut user, DEFAULT_GAP_MS, true);
    assert_eq!(session_ids(&user), ["512742880#0", "512742880#1"]);
    sessionize(&mut user, 5 * 60_000, true);
    assert_eq!(session_ids(&user).len(), 3);
}

#[test]
fn labels_mark_carts_and_purchases_in_the_session_or_horizon() {
    // User 533624186, one session: view 4804056 (00:10:22), cart it (00:11:00),
    // buy 4802036 (00:12:14), view 4802036 (00:12:49).
    let (_, events) = rees46();
    let mut user = of_user(&events, "533624186");
    sort_and_dedup(&mut user);
    sessionize(&mut user, DEFAULT_GAP_MS, false);
    let user_sessions = sessions(&user);
    assert_eq!(user_sessions.len(), 1);
    let in_session = labels(&user, &user_sessions, LabelWindow::Session);
    let flags: Vec<(&str, bool, bool, bool)> = in_session
        .iter()
        .map(|l| (l.item_id.as_str(), l.clicked, l.carted, l.purchased))
        .collect();
    assert_eq!(
        flags,
        [
            ("4804056", false, true, false),
            ("4802036", false, false, true)
        ]
    );
    // The cart came 38 s after the item was first seen.
    let within = |ms| labels(&user, &user_sessions, LabelWindow::Horizon(ms))[0].carted;
    assert!(!within(30_000));
    assert!(within(60_000));
}

#[test]
fn time_split_leaks_nothing_and_keeps_every_event() {
    let (_, mut events) = rees46();
    sort_and_dedup(&mut events);
    let total = events.len();
    let cut_offs = SplitSpec::default().cut_offs(&events);
    assert!(cut_offs.validation_from_ms < cut_offs.test_from_ms);
    let splits = TimeSplits::by_time(events, cut_offs);
    splits.check_no_leak().unwrap();
    let latest_train = splits.train.iter().map(|e| e.timestamp_ms).max().unwrap();
    let earliest_validation = splits
        .validation
        .iter()
        .map(|e| e.timestamp_ms)
        .min()
        .unwrap();
    let latest_validation = splits
        .validation
        .iter()
        .map(|e| e.timestamp_ms)
        .max()
        .unwrap();
    let earliest_test = splits.test.iter().map(|e| e.timestamp_ms).min().unwrap();
    assert!(latest_train < cut_offs.validation_from_ms);
    assert!(earliest_validation >= cut_offs.validation_from_ms);
    assert!(latest_validation < cut_offs.test_from_ms && earliest_test >= cut_offs.test_from_ms);
    assert_eq!(
        splits.train.len() + splits.validation.len() + splits.test.len(),
        total
    );
    // Roughly 80/10/10 (ties at a cut-off go to the later split).
    assert!(
        (1500..=1600).contains(&splits.train.len()),
        "{}",
        splits.train.len()
    );

    let mut leaky = splits.clone();
    let late = leaky.test.pop().unwrap();
    leaky.train.push(late);
    let err = leaky.check_no_leak().unwrap_err().to_string();
    assert!(err.starts_with("train split holds an event"), "{err}");
}

#[test]
fn split_specs_parse_or_explain() {
    assert_eq!(
        "70/20/10".parse::<SplitSpec>().unwrap(),
        SplitSpec::Fractions {
            validation: 0.2,
            test: 0.1
        }
    );
    let explicit: SplitSpec = "2019-10-01T02:00:00Z,2019-10-01T02:10:00Z".parse().unwrap();
    let SplitSpec::CutOffs(c) = explicit else {
        panic!("expected cut-offs");
    };
    assert_eq!(c.test_from_ms - c.validation_from_ms, 600_000);
    assert!("80/10".parse::<SplitSpec>().is_err());
    assert!("80/30/10".parse::<SplitSpec>().is_err());
    assert!("2019-10-01T02:10:00Z,2019-10-01T02:00:00Z"
        .parse::<SplitSpec>()
        .is_err());
}

#[test]
fn profile_price_level_is_the_median_placed_in_the_catalog() {
    let (mapping, events) = rees46();
    let (catalog, _) =
        read_catalog(&mapping, &repo("data/rees46/events_head2000.csv"), true).unwrap();
    let catalog = CatalogIndex::new(catalog);
    // User 533624186 saw items at 161.98, 161.98, 171.56, 171.56 and bought 4802036;
    // 570 of the sample's 1,068 products cost at most their median, 166.77.
    let mut user = of_user(&events, "533624186");
    sessionize(&mut user, DEFAULT_GAP_MS, false);
    let end = user.last().unwrap().timestamp_ms + 86_400_000;
    let profiles = build_profiles(&user, &catalog, end);
    let [profile] = &profiles[..] else {
        panic!("one user, one profile");
    };
    let level = profile.price_level.as_ref().unwrap();
    assert!((level.median_price - 166.77).abs() < 1e-9);
    assert!((level.catalog_percentile - 570.0 / 1068.0).abs() < 1e-9);
    assert_eq!(level.bucket, PriceBucket::Mid);
    assert_eq!(
        profile.top_categories[0].name,
        "electronics.audio.headphone"
    );
    assert_eq!(profile.top_brands[0].name, "apple");
    assert_eq!(profile.purchases.len(), 1);
    assert_eq!(profile.purchases[0].item_id, "4802036");
    assert_eq!((profile.events, profile.sessions), (4, 1));
    assert!((profile.recency_days - 1.0).abs() < 1e-9);
}

#[test]
fn prepare_writes_its_summary_only() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("prepare-rees46");
    let _ = std::fs::remove_dir_all(&out);
    let config = PrepareConfig {
        mapping: repo("mappings/rees46.toml"),
        input: repo("data/rees46/events_head2000.csv"),
        out: out.clone(),
        strict: true,
        session_gap_ms: DEFAULT_GAP_MS,
        resplit_sessions: false,
        split: SplitSpec::default(),
        label_window: LabelWindow::Session,
        scaling: Scaling::Log1pZScore,
    };
    let summary = prepare(&config).unwrap();
    let saved = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert_eq!(saved, serde_json::to_string_pretty(&summary).unwrap());
    assert_eq!(summary.reads.len(), 2, "events and catalog read");
    assert_eq!(
        (
            summary.reads[0].what.as_str(),
            summary.reads[1].what.as_str()
        ),
        ("events", "catalog")
    );
    let events = summary.events.as_ref().unwrap();
    assert_eq!(
        (events.events, events.users, events.items),
        (2000, 885, 1068)
    );
    assert_eq!(events.sessions, 943, "source sessions kept");
    assert_eq!(events.by_type["purchase"], 19);
    assert_eq!(events.missing["price"], 0, "every REES46 row has a price");
    assert_eq!(events.missing["quantity"], 2000, "REES46 has no quantities");
    assert!(events.funnel.sessions_with_purchase > 0);
    let split_events: u64 = summary.splits.values().map(|s| s.events).sum();
    assert_eq!(split_events, 2000);
    // No copies of the data that nothing reads: the summary is the output.
    assert_eq!(summary.files, ["summary.json"]);
    let mut written: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    written.sort();
    assert_eq!(written, ["summary.json"]);
    assert_eq!(summary.profiles, summary.splits["train"].users);
    let price = &summary.normalization[0];
    assert_eq!(price.feature, "event_price");
    assert_eq!(price.fitted_on as u64, summary.splits["train"].events);
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_edgerec-train"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn prepare_cli_reports_rejects_and_stops_on_them_when_strict() {
    assert!(cli(&["prepare", "--help"]).status.success());
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("prepare-cli-bad-rows");
    let mapping = repo("mappings/rees46.toml");
    let input = repo("data/rees46/bad_rows.csv");
    let args = [
        "-q",
        "prepare",
        "--mapping",
        mapping.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ];
    let lenient = cli(&args);
    assert!(lenient.status.success());
    let stdout = String::from_utf8(lenient.stdout).unwrap();
    assert!(
        stdout.contains("9 rows read, 2 accepted, 7 rejected"),
        "{stdout}"
    );
    assert!(stdout.contains("duplicates removed: 1"), "{stdout}");

    let strict = cli(&[&args[..], &["--strict"]].concat());
    assert!(!strict.status.success());
    let stderr = String::from_utf8(strict.stderr).unwrap();
    assert!(
        stderr.contains("bad_rows.csv:3: bad_time in field `event_time`"),
        "{stderr}"
    );
}

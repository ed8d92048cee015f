//! `edgerec-train recommend`: native answers to recommendation requests for test prefixes, as
//! `{request, response}` JSON lines (the reference the JS and worker tests compare against).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use edgerec::{Event, EventType, RecommendRequest};
use serde_json::json;

use super::args::{check_file, BundleArgs, OutputArgs};
use crate::data;

#[derive(Debug, Args)]
pub struct RecommendArgs {
    #[command(flatten)]
    pub bundle: BundleArgs,
    /// A test_sessions.tsv file: each prefix becomes a request.
    #[arg(long)]
    pub sessions: PathBuf,
    /// Use only the first N lines.
    #[arg(long)]
    pub limit: Option<usize>,
    /// How many items each request asks for.
    #[arg(short, long, default_value_t = 20)]
    pub k: usize,
    /// Return items already in the history too.
    #[arg(long)]
    pub include_seen: bool,
    /// Send each prefix as typed, timed `events` (types cycling view, click, cart, purchase),
    /// excluding the true next item and with a slot: exercises the whole request path.
    #[arg(long)]
    pub events: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

pub fn run(args: RecommendArgs) -> Result<()> {
    check_file("--sessions", &args.sessions)?;
    let engine = args.bundle.engine()?;
    let text = std::fs::read_to_string(&args.sessions)
        .with_context(|| format!("cannot read {}", args.sessions.display()))?;
    let mut cases = data::parse_test(&text, &args.sessions)?;
    cases.truncate(args.limit.unwrap_or(usize::MAX));
    let mut sink = args.out.sink()?;
    const TYPES: [EventType; 4] = [
        EventType::View,
        EventType::Click,
        EventType::Cart,
        EventType::Purchase,
    ];
    for (line, case) in cases.into_iter().enumerate() {
        let mut request = RecommendRequest {
            include_seen: args.include_seen,
            ..RecommendRequest::from_history(case.prefix, args.k)
        };
        if args.events {
            let history = request.history.take().unwrap_or_default();
            request.events = Some(
                history
                    .into_iter()
                    .enumerate()
                    .map(|(i, id)| Event {
                        id,
                        kind: TYPES[(line + i) % TYPES.len()],
                        time: Some(1_764_000_000_000 + 1000 * i as u64),
                    })
                    .collect(),
            );
            request.filters.exclude = vec![case.next];
            request.slot = Some("parity".to_string());
        }
        let response = engine.recommend(&request)?;
        writeln!(
            sink,
            "{}",
            json!({ "request": request, "response": response })
        )?;
    }
    sink.flush()?;
    Ok(())
}

//! `edgerec-train predict`: p(click), p(cart), p(purchase) through the engine for the users of
//! an event file, as of the purchase task's test cut-off; `{user, request, response}` JSON lines.

use std::io::Write as _;

use anyhow::Result;
use clap::Args;

use super::args::{BundleArgs, OutputArgs};
use super::purchase::PurchaseDataArgs;
use crate::conversion::task::PurchaseSplit;
use crate::conversion::transformer::{predict_request, window_examples, FunnelVocab};

#[derive(Debug, Args)]
pub struct PredictArgs {
    // A transformer bundle with conversion heads (`purchase --model transformer --bundles`).
    #[command(flatten)]
    pub bundle: BundleArgs,
    #[command(flatten)]
    pub data: PurchaseDataArgs,
    /// Items scored per user: the last one they touched, then their other items, newest first.
    #[arg(long, default_value_t = 5)]
    pub items: usize,
    /// Only the first N users (by id).
    #[arg(long)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `edgerec-train predict`: p(click), p(cart), p(purchase) natively through the engine for the
/// users active before a cut-off; `{request, response}` JSON lines, the requests as a shop's
/// page would send them (typed, timed events and the request time).
pub fn run(args: PredictArgs) -> Result<()> {
    args.data.check()?;
    let engine = args.bundle.engine()?;
    let events = args.data.data_set.read(&args.data.input())?;
    let (lookback, horizon) = args.data.windows_ms();
    let window = PurchaseSplit::latest(&events, lookback, horizon)?.test;
    let vocab = FunnelVocab::before(&events, window.cutoff_ms);
    let mut users = window_examples(&events, &window, &vocab)?;
    users.truncate(args.limit.unwrap_or(usize::MAX));
    let mut sink = args.out.sink()?;
    for user in &users {
        let request = predict_request(user, &vocab, args.items);
        let response = engine.predict(&request)?;
        writeln!(
            sink,
            "{}",
            serde_json::json!({ "user": user.user, "request": request, "response": response })
        )?;
    }
    sink.flush()?;
    Ok(())
}

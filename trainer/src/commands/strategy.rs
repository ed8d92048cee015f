//! `edgerec-train strategy check FILE [--bundle B]`: validates a strategy file as the engine
//! loads it (TOML, or JSON for a `.json` file); every bad key is named. With a bundle it also
//! decides once for every slot on an empty session, so what only the bundle can refute (a pinned
//! item it does not have, a boosted category its catalog lacks, margin without prices) is refused
//! here rather than at the edge.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use edgerec::{DecideRequest, Engine, Strategy, StrategyError, StrategyState};

#[derive(Debug, Args)]
pub struct StrategyArgs {
    #[command(subcommand)]
    pub command: StrategyCommand,
}

#[derive(Debug, Subcommand)]
pub enum StrategyCommand {
    /// Validate a strategy file (slots, offers, exploration, experiments), optionally against a
    /// bundle; prints what it declares.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The strategy file: TOML, or JSON if its name ends in `.json`.
    pub file: PathBuf,
    /// A model bundle the strategy will serve with: every slot is decided once on it.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
}

pub fn run(args: StrategyArgs) -> Result<()> {
    match args.command {
        StrategyCommand::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> Result<()> {
    let file = args.file.display();
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {file}"))?;
    let named = |e: StrategyError| anyhow!("{file}: {e} (key `{}`, {})", e.field(), e.code());
    let strategy = if args.file.extension().is_some_and(|e| e == "json") {
        Strategy::from_json(&bytes)
    } else {
        let text = std::str::from_utf8(&bytes).with_context(|| format!("{file} is not UTF-8"))?;
        Strategy::from_toml(text)
    }
    .map_err(named)?;
    let config = strategy.config();
    println!("{file}: strategy `{}` is valid", config.version);
    for (name, slot) in &config.slots {
        let offers = slot.offers.as_deref().unwrap_or("none");
        // The objective as the file spells it (`clicks`, `purchases`, `margin`).
        let objective = serde_json::to_value(slot.objective)?;
        let objective = objective.as_str().unwrap_or_default();
        println!(
            "  slot {name}: {} items by {objective}, offers {offers}",
            slot.size
        );
    }
    for (name, group) in &config.offers {
        println!("  offer group {name}: {}", group.arms.join(", "));
    }
    for experiment in &config.experiments {
        println!("  experiment {}", experiment.name);
    }
    if let Some(path) = &args.bundle {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let engine = Engine::from_bundle(&bytes)
            .with_context(|| format!("{} is not a usable bundle", path.display()))?;
        let slots: Vec<&String> = config.slots.keys().collect();
        let body = serde_json::json!({ "history": [], "slots": slots, "seed": 0 }).to_string();
        let request = DecideRequest::from_json(body.as_bytes())?;
        engine
            .decide(&request, &StrategyState::new(), &strategy)
            .map_err(|e| {
                anyhow!(
                    "{file} cannot serve with {}: {e} ({})",
                    path.display(),
                    e.code()
                )
            })?;
        println!("  serves with {}: every slot decided", path.display());
    }
    Ok(())
}

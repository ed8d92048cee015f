//! Errors of the strategy core, with stable codes and the field at fault (as the engine's
//! request errors do), so the bindings and the worker can report them the same way.

/// Why the strategy core refused a state, a configuration or an input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrategyError {
    /// A serialised state of a version this engine does not read.
    #[error("unsupported strategy state version {found}; this engine reads version {supported}")]
    UnsupportedVersion { found: String, supported: u32 },
    /// A serialised state that is malformed; `field` is the JSON path at fault.
    #[error("invalid strategy state at `{field}`: {message}")]
    InvalidState { field: String, message: String },
    /// A learner or experiment configuration value out of range.
    #[error("invalid strategy configuration `{field}`: {message}")]
    InvalidConfig { field: String, message: String },
    /// A bad argument to `choose`, `update` or a counter (no arms, wrong dimension, NaN).
    #[error("invalid strategy input `{field}`: {message}")]
    InvalidInput { field: String, message: String },
    /// Two states that cannot be merged (e.g. linear learners of different dimensions).
    #[error("cannot merge strategy states at `{field}`: {message}")]
    MergeConflict { field: String, message: String },
    /// An integer accumulator would overflow; the state is left unchanged.
    #[error("strategy state accumulator `{field}` would overflow")]
    Overflow { field: String },
}

impl StrategyError {
    /// Stable snake_case code naming the failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedVersion { .. } => "unsupported_state_version",
            Self::InvalidState { .. } => "invalid_state",
            Self::InvalidConfig { .. } => "invalid_strategy_config",
            Self::InvalidInput { .. } => "invalid_strategy_input",
            Self::MergeConflict { .. } => "merge_conflict",
            Self::Overflow { .. } => "state_overflow",
        }
    }

    /// The field (or JSON path) at fault.
    pub fn field(&self) -> &str {
        match self {
            Self::UnsupportedVersion { .. } => "version",
            Self::InvalidState { field, .. }
            | Self::InvalidConfig { field, .. }
            | Self::InvalidInput { field, .. }
            | Self::MergeConflict { field, .. }
            | Self::Overflow { field } => field,
        }
    }
}

pub(crate) fn bad_config(field: &str, message: impl Into<String>) -> StrategyError {
    StrategyError::InvalidConfig {
        field: field.to_string(),
        message: message.into(),
    }
}

pub(crate) fn input(field: &str, message: impl Into<String>) -> StrategyError {
    StrategyError::InvalidInput {
        field: field.to_string(),
        message: message.into(),
    }
}

/// `a + b` on a counter, or an `Overflow` error naming it.
pub(crate) fn add_u64(a: u64, b: u64, field: &str) -> Result<u64, StrategyError> {
    a.checked_add(b).ok_or_else(|| StrategyError::Overflow {
        field: field.to_string(),
    })
}

/// `a + b` on a signed fixed-point sum, or an `Overflow` error naming it.
pub(crate) fn add_i64(a: i64, b: i64, field: &str) -> Result<i64, StrategyError> {
    a.checked_add(b).ok_or_else(|| StrategyError::Overflow {
        field: field.to_string(),
    })
}

/// `a - b` on a counter when taking a delta, or a `MergeConflict`: the base counted more than
/// this state, so it is not an earlier snapshot of it.
pub(crate) fn sub_u64(a: u64, b: u64, field: &str) -> Result<u64, StrategyError> {
    a.checked_sub(b)
        .ok_or_else(|| StrategyError::MergeConflict {
            field: field.to_string(),
            message: format!(
                "the base counts {b}, this state only {a}: it is not an earlier snapshot"
            ),
        })
}

/// `a - b` on a signed fixed-point sum, or an `Overflow` error naming it.
pub(crate) fn sub_i64(a: i64, b: i64, field: &str) -> Result<i64, StrategyError> {
    a.checked_sub(b).ok_or_else(|| StrategyError::Overflow {
        field: field.to_string(),
    })
}

//! Conversion (purchase) prediction: the metrics of probability forecasts, the leak-free Taobao
//! purchase task and its features, and the classic baselines (logistic regression, gradient-boosted
//! trees, and trivial rules) that `edgerec-train purchase` compares.

pub mod features;
pub mod gbdt;
pub mod logistic;
pub mod metrics;
pub mod readers;
pub mod task;
pub mod transformer;

pub use features::{build_features, FeatureTable, PurchaseWindow, FEATURE_NAMES};
pub use metrics::ConversionMetrics;
pub use task::{PurchaseConfig, PurchaseData, PurchaseModel, PurchaseRun, PurchaseSplit};

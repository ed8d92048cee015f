//! Explanations: which session items made the engine propose an item.

use crate::api::MAX_EXPLAIN;

/// The session positions whose items have the highest positive `similarity`, each item once
/// (credited at its latest position), at most [`MAX_EXPLAIN`], most similar first.
pub(crate) fn most_similar(
    session: &[(u32, f32)],
    similarity: impl Fn(u32) -> f32,
) -> Vec<(usize, f32)> {
    let mut because: Vec<(usize, f32)> = Vec::new();
    for (at, &(h, _)) in session.iter().enumerate().rev() {
        if session[at + 1..].iter().any(|s| s.0 == h) {
            continue;
        }
        let s = similarity(h);
        if s > 0.0 {
            because.push((at, s));
        }
    }
    because.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    because.truncate(MAX_EXPLAIN);
    because
}

//! What every stage of the pipeline reads about one request.

/// One request as the stages see it: the session resolved to item indices, and how many
/// items to return.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    /// The session's known items, oldest first: (item index, event weight).
    pub session: &'a [(u32, f32)],
    /// How many items the answer holds at most.
    pub k: usize,
    /// Whether items of the session may be returned.
    pub include_seen: bool,
}

impl Query<'_> {
    /// The session's item indices, oldest first.
    #[cfg(feature = "model")]
    pub fn history(&self) -> Vec<u32> {
        self.session.iter().map(|s| s.0).collect()
    }

    /// Per item of a table of `n`: whether the answer must leave it out because the session
    /// has it (all false with `include_seen`).
    pub fn seen_mask(&self, n: usize) -> Vec<bool> {
        let mut seen = vec![false; n];
        if !self.include_seen {
            self.session
                .iter()
                .for_each(|&(i, _)| seen[i as usize] = true);
        }
        seen
    }
}

//! Text candidates: items whose text is like the session's (the path of new items).

use super::{CandidateSource, Keep};
use crate::api::Source;
use crate::covisit::ScoredItem;
use crate::engine::query::Query;
use crate::text_index::TextIndex;

pub(crate) struct TextSource<'t> {
    pub index: Option<&'t TextIndex>,
    /// How the session's text profile weighs an item `d` steps before the last: `decay^d`
    /// times its event weight, as co-visitation weighs it.
    pub recency_decay: f32,
}

impl CandidateSource for TextSource<'_> {
    /// The items (and their cosine) nearest the session's text profile; none without item text
    /// vectors or a session item with text.
    fn candidates(&self, query: &Query<'_>, n: usize, keep: &Keep<'_>) -> Vec<ScoredItem> {
        let Some(index) = self.index else {
            return Vec::new();
        };
        let mut recency = 1f32;
        let mut weighted = Vec::with_capacity(query.session.len());
        for &(item, event_weight) in query.session.iter().rev() {
            weighted.push((item, recency * event_weight));
            recency *= self.recency_decay;
        }
        let Some(profile) = index.profile(&weighted) else {
            return Vec::new();
        };
        index
            .nearest(&profile, n, keep)
            .into_iter()
            .map(|(j, cosine)| ScoredItem::from_source(j, cosine, Source::Text))
            .collect()
    }
}

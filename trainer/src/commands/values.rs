//! The command-line names of library enums: `clap::ValueEnum` implemented here, so the library
//! modules that define the enums need no clap.

use clap::builder::PossibleValue;
use clap::ValueEnum;

use crate::conversion::task::PurchaseModel;
use crate::prepare::Scaling;
use crate::ranking::protocol::DataSetKind;
use crate::ranking::run::ModelKind;

/// `impl ValueEnum for T`: each variant with its command-line name and help.
macro_rules! value_enum {
    ($ty:ty { $($variant:path => $name:literal: $help:literal,)+ }) => {
        impl ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($variant),+]
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(match self {
                    $($variant => PossibleValue::new($name).help($help),)+
                })
            }
        }
    };
}

value_enum!(DataSetKind {
    DataSetKind::Diginetica => "diginetica":
        "DIGINETICA sessions, SR-GNN split (train_sessions.txt, test_sessions.tsv)",
    DataSetKind::AmazonBeauty => "amazon-beauty":
        "Amazon 2014 5-core Beauty user sequences, S3-Rec preprocessing (Beauty.txt)",
});

value_enum!(ModelKind {
    ModelKind::Popularity => "popularity": "PopRec: the most popular training items",
    ModelKind::Covisit => "covisit":
        "Item-to-item co-visitation, evaluated through the serving engine",
    ModelKind::Sknn => "sknn": "Session-kNN with cosine similarity (Ludewig & Jannach 2018)",
    ModelKind::Vsknn => "vsknn":
        "Vector-multiplication session-kNN with position decay and IDF weighting",
});

value_enum!(PurchaseModel {
    PurchaseModel::Constant => "constant": "The training base rate for everyone",
    PurchaseModel::Carted => "carted":
        "The training purchase rate of users who did / did not add something to the cart",
    PurchaseModel::ItemRate => "item-rate":
        "The smoothed conversion rate of the best-converting item the user touched (a ranking \
         score, not a calibrated user probability)",
    PurchaseModel::Lr => "lr": "L2 logistic regression on all features",
    PurchaseModel::Gbdt => "gbdt": "Gradient-boosted trees on all features",
    PurchaseModel::Transformer => "transformer":
        "The transformer conversion model (ESMM heads) on the users' typed, timed events",
});

value_enum!(Scaling {
    Scaling::ZScore => "z-score": "(x - mean) / std",
    Scaling::Log1pZScore => "log1p-z-score":
        "z-score of ln(1 + x): for skewed non-negative values such as prices and counts",
});

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant parses back from its name, and the names are the ones scripts use.
    #[test]
    fn names_round_trip() {
        fn check<T: ValueEnum + PartialEq + std::fmt::Debug>(names: &[&str]) {
            let got: Vec<String> = T::value_variants()
                .iter()
                .map(|v| v.to_possible_value().unwrap().get_name().to_string())
                .collect();
            assert_eq!(got, names);
            for (v, name) in T::value_variants().iter().zip(names) {
                assert_eq!(&T::from_str(name, false).unwrap(), v);
            }
        }
        check::<DataSetKind>(&["diginetica", "amazon-beauty"]);
        check::<ModelKind>(&["popularity", "covisit", "sknn", "vsknn"]);
        check::<PurchaseModel>(&[
            "constant",
            "carted",
            "item-rate",
            "lr",
            "gbdt",
            "transformer",
        ]);
        check::<Scaling>(&["z-score", "log1p-z-score"]);
    }
}

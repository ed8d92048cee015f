//! Tests on the real sample shipped in the repository, with a tiny BERT built here (random
//! weights from a fixed seed, a WordPiece vocabulary from the sample's words), so they run on a
//! fresh clone; the comparison with the pretrained MiniLM runs only where ../shared has it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use clap::Parser;
use edgerec::training::model::bert::random_weights;
use edgerec::training::model::{BertConfig, BertEncoder};
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::Tokenizer;

use super::data::{read_reviews, split_by_item, Review, SAMPLE_PATH};
use super::encoder::*;
use super::finetune::{FinetuneConfig, Finetuner, Labels, TrainLayers};
use crate::commands::text::{execute as run_text, TextArgs, TextModel};
use crate::conversion::task::repo_path;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgerec-text-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sample() -> Vec<Review> {
    read_reviews(&repo_path(SAMPLE_PATH)).unwrap().0
}

/// A model folder like all-MiniLM-L6-v2's, but tiny: 2 layers, hidden 32, the sample's 600 most
/// frequent words as its vocabulary.
fn tiny_model_dir(name: &str, reviews: &[Review]) -> PathBuf {
    let dir = temp_dir(name);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in reviews {
        for w in r
            .text
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            *counts.entry(w.to_string()).or_default() += 1;
        }
    }
    let mut words: Vec<(String, usize)> = counts.into_iter().collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let specials = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", "'", "-",
    ];
    let vocab: Vec<String> = specials
        .iter()
        .map(|s| s.to_string())
        .chain(words.into_iter().take(600).map(|(w, _)| w))
        .collect();
    let vocab_size = vocab.len();
    // One token per line, ids in line order, as BERT's vocab.txt.
    let vocab_file = dir.join("vocab.txt");
    std::fs::write(&vocab_file, vocab.join("\n")).unwrap();
    let wordpiece = WordPiece::from_file(vocab_file.to_str().unwrap())
        .unk_token("[UNK]".into())
        .build()
        .unwrap();
    let mut tokenizer = Tokenizer::new(wordpiece);
    tokenizer
        .with_normalizer(Some(BertNormalizer::default()))
        .unwrap();
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    tokenizer.with_post_processor(Some(BertProcessing::new(
        ("[SEP]".into(), 3),
        ("[CLS]".into(), 2),
    )));
    tokenizer.save(dir.join(TOKENIZER_FILE), false).unwrap();
    let config = BertConfig {
        vocab_size,
        hidden_size: 32,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 64,
        max_position_embeddings: 128,
        ..BertConfig::minilm_l6()
    };
    std::fs::write(
        dir.join(CONFIG_FILE),
        serde_json::to_string(&config).unwrap(),
    )
    .unwrap();
    let weights = random_weights(&config, 0.1, 11).unwrap();
    candle_core::safetensors::save(&weights, dir.join(WEIGHTS_FILE)).unwrap();
    dir
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

#[test]
fn sample_reviews_are_read_and_split_by_item() {
    let (reviews, counts) = read_reviews(&repo_path(SAMPLE_PATH)).unwrap();
    assert_eq!(counts.rows, 400);
    assert_eq!(counts.kept + counts.no_text + counts.bad_label, counts.rows);
    assert!(reviews.len() > 350, "{counts:?}");
    assert!(reviews
        .iter()
        .all(|r| (1..=5).contains(&r.rating) && !r.text.is_empty()));
    let split = split_by_item(&reviews, 0.8, 0.1, 17).unwrap();
    let items = |idx: &[usize]| {
        idx.iter()
            .map(|&i| reviews[i].item.clone())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let (train, val, test) = (
        items(&split.train),
        items(&split.validation),
        items(&split.test),
    );
    assert!(train.is_disjoint(&test) && train.is_disjoint(&val) && val.is_disjoint(&test));
    assert_eq!(
        split.train.len() + split.validation.len() + split.test.len(),
        reviews.len()
    );
    assert_eq!(split, split_by_item(&reviews, 0.8, 0.1, 17).unwrap());
    assert_ne!(
        split.test,
        split_by_item(&reviews, 0.8, 0.1, 18).unwrap().test
    );
}

#[test]
fn finetuning_lowers_the_loss_and_the_checkpoint_reloads_identically() {
    let reviews = sample();
    let dir = tiny_model_dir("finetune", &reviews);
    let tokenizer = load_tokenizer(&dir, 64).unwrap();
    let texts: Vec<&str> = reviews.iter().map(|r| r.text.as_str()).collect();
    let tokens = tokenize(&tokenizer, &texts).unwrap();
    assert!(tokens.iter().all(|t| t.len() <= 64 && t[0] == 2));
    let split = split_by_item(&reviews, 0.8, 0.1, 17).unwrap();
    let recommended: Vec<bool> = reviews.iter().map(|r| r.recommended).collect();
    let rating: Vec<u8> = reviews.iter().map(|r| r.rating).collect();
    let labels = Labels {
        recommended: &recommended,
        rating: &rating,
    };

    let tuner = Finetuner::new(&dir, TrainLayers::Top(1), 0.8, &Device::Cpu).unwrap();
    let prepared = tuner.prepare(&tokens, 16).unwrap();
    assert_eq!(prepared.cache.len(), tokens.len());
    // The frozen pass gives the same sentence embeddings as the serving path.
    let served = TextEncoder::load(&dir, 64, &Device::Cpu)
        .unwrap()
        .embed_tokens(&tokens, 7)
        .unwrap();
    assert!(max_diff(&served, &prepared.frozen_embeddings) < 1e-5);

    let before = tuner
        .mean_loss(&prepared, &tokens, &labels, &split.train, 0.5)
        .unwrap();
    let config = FinetuneConfig {
        epochs: 4,
        learning_rate: 3e-3,
        batch_size: 16,
        patience: 10,
        ..FinetuneConfig::default()
    };
    let log = tuner
        .train(
            &prepared,
            &tokens,
            &labels,
            &split.train,
            &split.validation,
            &config,
        )
        .unwrap();
    let after = tuner
        .mean_loss(&prepared, &tokens, &labels, &split.train, 0.5)
        .unwrap();
    assert!(
        after < before - 0.05,
        "training loss {before:.4} -> {after:.4}; epochs {log:?}"
    );

    let out = dir.join("finetuned");
    tuner.save(&dir, &out).unwrap();
    let in_memory = tuner
        .classifier(&dir, 64)
        .unwrap()
        .predict(&texts, 16)
        .unwrap();
    let reloaded = TextClassifier::load(&out, 64, &Device::Cpu)
        .unwrap()
        .predict(&texts, 16)
        .unwrap();
    assert_eq!(in_memory, reloaded);
    // Only the top layer changed; the saved file has every base tensor under its name.
    let base = candle_core::safetensors::load(dir.join(WEIGHTS_FILE), &Device::Cpu).unwrap();
    let saved = candle_core::safetensors::load(out.join(WEIGHTS_FILE), &Device::Cpu).unwrap();
    assert_eq!(
        base.keys().collect::<std::collections::BTreeSet<_>>(),
        saved.keys().collect()
    );
    let changed = |name: &str| {
        let d = (&base[name] - &saved[name])
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        d.to_scalar::<f32>().unwrap() > 0.0
    };
    assert!(changed("encoder.layer.1.attention.self.query.weight"));
    assert!(!changed("encoder.layer.0.attention.self.query.weight"));
    assert!(!changed("embeddings.word_embeddings.weight"));
    // score_texts reads at DEFAULT_MAX_LEN tokens.
    let scores = score_texts(&out, &texts[..3]).unwrap();
    let expected = TextClassifier::load(&out, DEFAULT_MAX_LEN, &Device::Cpu)
        .unwrap()
        .predict(&texts[..3], 2)
        .unwrap();
    assert!(scores
        .iter()
        .zip(&expected)
        .all(|(s, p)| (s - p.p_recommended).abs() < 1e-6));
    let vectors = encode_texts(&out, &texts[..3]).unwrap();
    assert!(vectors
        .iter()
        .all(|v| v.len() == 32 && (v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_text_command_runs_every_model_on_the_sample() {
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TextArgs,
    }
    let reviews = sample();
    let dir = tiny_model_dir("cli", &reviews);
    let results = dir.join("results");
    let out = dir.join("model");
    let cli = Cli::parse_from([
        "text",
        "--encoder",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--results-dir",
        results.to_str().unwrap(),
        "--max-len",
        "48",
        "--epochs",
        "1",
        "--max-steps-per-epoch",
        "4",
        "--train-layers",
        "all",
        "--bootstrap",
        "20",
    ]);
    let runs = run_text(&cli.args).unwrap();
    assert_eq!(
        runs.iter().map(|r| r.model).collect::<Vec<_>>(),
        TextModel::ALL
    );
    for run in &runs {
        let path = results.join(format!("womens-reviews-text-{}.json", run.model.name()));
        let record = crate::record::RunRecord::read(&path).unwrap();
        assert_eq!(record.data.name, "womens-reviews");
        for metric in super::metrics::ALL {
            assert!(
                record.metrics[metric].is_finite(),
                "{} {metric}",
                run.model.name()
            );
        }
        let (lo, hi) = record.intervals["AUC"];
        assert!(lo <= record.metrics["AUC"] && record.metrics["AUC"] <= hi);
    }
    assert!(out.join(HEAD_FILE).exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The pretrained all-MiniLM-L6-v2 from ../shared (it is 90 MB and not in the repository): the
/// tests that use it are `#[ignore]`d, and run by `make test` when ../shared has it.
fn minilm_dir() -> PathBuf {
    let dir = repo_path("../shared/models/all-MiniLM-L6-v2");
    assert!(
        dir.join(WEIGHTS_FILE).exists(),
        "{} is absent (the pretrained weights are not shipped): this test needs ../shared",
        dir.display()
    );
    dir
}

#[test]
#[ignore = "needs ../shared/models/all-MiniLM-L6-v2 (make test runs it when present, make test-shared alone)"]
fn pooled_embeddings_match_candle_transformers_bert() {
    let dir = minilm_dir();
    let sentences = [
        "This dress fits perfectly and the fabric is lovely.",
        "The dress fits well and the material is beautiful.",
        "The package arrived late and the box was damaged.",
    ];
    let ours = TextEncoder::load(&dir, 128, &Device::Cpu).unwrap();
    let tokens = tokenize(&ours.tokenizer, &sentences).unwrap();
    let embeddings = ours.embed_tokens(&tokens, 8).unwrap();

    let config: candle_transformers::models::bert::Config =
        serde_json::from_str(&std::fs::read_to_string(dir.join(CONFIG_FILE)).unwrap()).unwrap();
    let vb = unsafe {
        candle_nn::VarBuilder::from_mmaped_safetensors(
            &[dir.join(WEIGHTS_FILE)],
            DType::F32,
            &Device::Cpu,
        )
        .unwrap()
    };
    let reference = candle_transformers::models::bert::BertModel::load(vb, &config).unwrap();
    let seqs: Vec<&[u32]> = tokens.iter().map(Vec::as_slice).collect();
    let (ids, mask) = pad_batch(&seqs, &Device::Cpu).unwrap();
    let hidden = reference
        .forward(&ids, &ids.zeros_like().unwrap(), Some(&mask))
        .unwrap();
    let pooled = edgerec::training::model::bert::mean_pool(&hidden, &mask).unwrap();
    let expected = edgerec::training::model::bert::l2_normalize(&pooled)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let diff = max_diff(&embeddings, &expected);
    assert!(
        diff < 1e-4,
        "largest difference from candle-transformers: {diff}"
    );

    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let (similar, different) = (
        cos(&embeddings[0], &embeddings[1]),
        cos(&embeddings[0], &embeddings[2]),
    );
    assert!(
        similar > different + 0.2,
        "similar {similar}, different {different}"
    );

    // Padding a sentence inside a longer batch does not change its embedding.
    let alone = ours.embed_tokens(&tokens[2..], 8).unwrap();
    assert!(max_diff(&alone, &embeddings[2..]) < 1e-5);
    let _ = (
        BertEncoder::attention_bias(&Tensor::ones((1, 1), DType::U32, &Device::Cpu).unwrap())
            .unwrap(),
        Path::new("."),
    );
}

/// Embeddings of `texts` by an encoder of `config` with `weights`, through `tokenizer_json`.
fn embed_with(
    config: &BertConfig,
    weights: &BTreeMap<String, Tensor>,
    tokenizer_json: &[u8],
    texts: &[&str],
) -> Vec<Vec<f32>> {
    let tensors: std::collections::HashMap<String, Tensor> = weights
        .iter()
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    let vb = candle_nn::VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
    let encoder = TextEncoder {
        encoder: BertEncoder::load(vb, config).unwrap(),
        tokenizer: tokenizer_from_bytes(tokenizer_json, 64).unwrap(),
        device: Device::Cpu,
    };
    encoder.embed_texts(texts, 16).unwrap()
}

/// Trims `dir`'s tokenizer and weights to `texts` and checks the promise on every text: the
/// trimmed tokenizer's ids are the old ids renumbered, and (for `embedded` of them) the
/// embeddings are exactly the same. Returns the trimmed vocabulary.
fn check_trimming(dir: &Path, texts: &[&str], embedded: usize) -> super::trim::TrimmedVocab {
    use super::trim::{trim_vocabulary, WORD_EMBEDDINGS};
    let json = std::fs::read(dir.join(TOKENIZER_FILE)).unwrap();
    let trimmed = trim_vocabulary(&json, texts).unwrap();
    assert!(trimmed.new_size() < trimmed.old_size());
    let before = tokenizer_from_bytes(&json, 64).unwrap();
    let after = tokenizer_from_bytes(&trimmed.tokenizer_json, 64).unwrap();
    let old = tokenize(&before, texts).unwrap();
    let new = tokenize(&after, texts).unwrap();
    for ((o, n), text) in old.iter().zip(&new).zip(texts) {
        assert_eq!(n, &trimmed.remap(o).unwrap(), "{text:?}");
    }
    // The trimmed tokenizer's vocabulary is the kept tokens, in their old order.
    let vocab =
        edgerec::training::model::text_encoder::tokenizer_vocab_size(&trimmed.tokenizer_json);
    assert_eq!(vocab, Ok(trimmed.new_size()));
    assert!(trimmed.kept.windows(2).all(|w| w[0] < w[1]));

    let config = read_config(dir).unwrap();
    let weights: BTreeMap<String, Tensor> =
        candle_core::safetensors::load(dir.join(WEIGHTS_FILE), &Device::Cpu)
            .unwrap()
            .into_iter()
            .filter(|(n, _)| !n.starts_with("pooler."))
            .collect();
    let mut sliced = weights.clone();
    sliced.insert(
        WORD_EMBEDDINGS.into(),
        trimmed.slice_embeddings(&weights[WORD_EMBEDDINGS]).unwrap(),
    );
    let small = BertConfig {
        vocab_size: trimmed.new_size(),
        ..config.clone()
    };
    let texts = &texts[..embedded.min(texts.len())];
    assert_eq!(
        embed_with(&small, &sliced, &trimmed.tokenizer_json, texts),
        embed_with(&config, &weights, &json, texts)
    );
    trimmed
}

#[test]
fn trimming_the_vocabulary_changes_no_encoded_text() {
    let reviews = sample();
    let dir = tiny_model_dir("trim", &reviews);
    // The catalog: the first 200 reviews; the rest are texts the trimming never saw.
    let texts: Vec<&str> = reviews.iter().map(|r| r.text.as_str()).collect();
    let (catalog, unseen) = texts.split_at(200);
    let trimmed = check_trimming(&dir, catalog, catalog.len());
    // Unseen words still encode (the single characters are kept), never to a dropped id.
    let after = tokenizer_from_bytes(&trimmed.tokenizer_json, 64).unwrap();
    for ids in tokenize(&after, unseen).unwrap() {
        assert!(ids.iter().all(|&id| (id as usize) < trimmed.new_size()));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs ../shared/models/all-MiniLM-L6-v2 (make test runs it when present, make test-shared alone)"]
fn trimming_minilm_to_the_sample_shrinks_it_tenfold() {
    let dir = minilm_dir();
    let reviews = sample();
    let texts: Vec<&str> = reviews.iter().map(|r| r.text.as_str()).collect();
    // Every review's ids; the embeddings of a few (the full model on the CPU is slow).
    let trimmed = check_trimming(&dir, &texts, 8);
    assert_eq!(trimmed.old_size(), 30522);
    assert!(
        trimmed.new_size() * 5 < trimmed.old_size(),
        "{} tokens left",
        trimmed.new_size()
    );
    // [PAD], [UNK], [CLS], [SEP], [MASK] keep their order at the front.
    assert_eq!(&trimmed.kept[..1], &[0]);
    assert_eq!(
        trimmed.remap(&[100, 101, 102, 103]).unwrap(),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn keep_layers_drops_the_top_layers_only() {
    let config = BertConfig {
        vocab_size: 20,
        hidden_size: 8,
        num_hidden_layers: 3,
        num_attention_heads: 2,
        intermediate_size: 16,
        max_position_embeddings: 8,
        ..BertConfig::minilm_l6()
    };
    let mut weights: BTreeMap<String, Tensor> = random_weights(&config, 0.1, 1)
        .unwrap()
        .into_iter()
        .collect();
    let all = weights.len();
    super::trim::keep_layers(&mut weights, 2);
    assert!(weights.keys().all(|n| !n.starts_with("encoder.layer.2.")));
    assert!(weights.contains_key("encoder.layer.1.output.dense.weight"));
    assert!(weights.contains_key("embeddings.word_embeddings.weight"));
    assert_eq!(all - weights.len(), 16);
}

#[test]
fn the_text_bundle_command_measures_every_variant() {
    use crate::commands::text_bundle::{execute as run_text_bundle, TextBundleArgs};
    let reviews = sample();
    let dir = tiny_model_dir("text-bundle", &reviews);
    let out = temp_dir("text-bundle-out");
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TextBundleArgs,
    }
    let args = Cli::parse_from([
        "test",
        "--encoder",
        dir.to_str().unwrap(),
        "--texts",
        repo_path(SAMPLE_PATH).to_str().unwrap(),
        "--policies",
        "f32,q8,q4",
        "--layers",
        "1",
        "--bootstrap",
        "10",
        "--out",
        out.join("bundles").to_str().unwrap(),
        "--results-dir",
        out.to_str().unwrap(),
    ])
    .args;
    let report = run_text_bundle(&args).unwrap();
    let names: Vec<&str> = report.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["f32", "q8", "q4", "q8-L1", "q4-L1"]);
    assert!(report.vocab_after < report.vocab_before);
    let f32 = &report.results[0];
    // Trimmed, f32: the same embeddings, so the same linear model and AUC.
    assert!((f32.mean_cosine - 1.0).abs() < 1e-6, "{}", f32.mean_cosine);
    assert_eq!(f32.auc_change, 0.0);
    assert!(f32.parts.total < report.untrimmed_f32_bytes);
    for r in &report.results[1..] {
        assert!(r.parts.total < f32.parts.total, "{}", r.name);
        assert!(
            r.mean_cosine < 1.0 && r.mean_cosine > 0.5,
            "{}: {}",
            r.name,
            r.mean_cosine
        );
        let bytes = std::fs::read(&r.bundle).unwrap();
        let parsed = edgerec::training::Bundle::parse(&bytes).unwrap();
        assert_eq!(parsed.manifest.model_kind, "text-encoder");
        assert_eq!(parsed.count("layers").unwrap(), r.layers as u64);
    }
    assert!(out.join("quantize/womens-reviews-text.json").exists());
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
}

/// The edge's `TextEmbedder` (wasm, JS) on a bundle of a model folder embeds each text exactly as
/// the trainer's `TextEncoder` on the folder: the same ids, bit for bit the same vector for a text
/// alone, the same up to float rounding in the trainer's length-sorted batches.
fn check_edge_embedder(dir: &Path, texts: &[&str]) {
    use edgerec::training::model::text_encoder::{export_text_encoder, TextExportParts};
    use edgerec::training::model::{Compute, QuantPolicy, TextEmbedder};
    let trainer = TextEncoder::load(dir, 64, &Device::Cpu).unwrap();
    let tokens = tokenize(&trainer.tokenizer, texts).unwrap();
    let config = read_config(dir).unwrap();
    let weights: BTreeMap<String, Tensor> =
        candle_core::safetensors::load(dir.join(WEIGHTS_FILE), &Device::Cpu)
            .unwrap()
            .into_iter()
            .filter(|(n, _)| !n.starts_with("pooler."))
            .collect();
    let json = std::fs::read(dir.join(TOKENIZER_FILE)).unwrap();
    let parts = TextExportParts {
        config: &config,
        weights: &weights,
        tokenizer_json: &json,
        max_len: 64,
    };
    let f32 = QuantPolicy::builtin("f32").unwrap();
    let bytes = export_text_encoder(&parts, &f32, "t".into())
        .unwrap()
        .0
        .finish();
    let edge = TextEmbedder::from_bundle_bytes(&bytes, None, Compute::Dequantized).unwrap();
    for (i, (text, ids)) in texts.iter().zip(&tokens).enumerate() {
        assert_eq!(&edge.tokenize(i, text).unwrap(), ids, "{text:?}");
        let alone = trainer.embed_tokens(std::slice::from_ref(ids), 1).unwrap();
        assert_eq!(edge.embed_one(text).unwrap(), alone[0], "{text:?}");
    }
    let batched = trainer.embed_tokens(&tokens, 16).unwrap();
    let d = max_diff(&edge.embed(texts).unwrap(), &batched);
    assert!(d < 1e-5, "edge batch vs trainer batch: {d}");
}

#[test]
fn the_edge_embedder_embeds_as_the_trainer_does() {
    let reviews = sample();
    let dir = tiny_model_dir("edge-embedder", &reviews);
    let texts: Vec<&str> = reviews.iter().take(40).map(|r| r.text.as_str()).collect();
    check_edge_embedder(&dir, &texts);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs ../shared/models/all-MiniLM-L6-v2 (make test runs it when present, make test-shared alone)"]
fn the_edge_embedder_embeds_minilm_as_the_trainer_does() {
    let reviews = sample();
    let texts: Vec<&str> = reviews.iter().take(6).map(|r| r.text.as_str()).collect();
    check_edge_embedder(&minilm_dir(), &texts);
}

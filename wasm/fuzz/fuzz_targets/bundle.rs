//! Raw bytes into the bundle loader: `Bundle::parse`, `Engine::from_bundle` and
//! `Engine::from_bundle_trusted` with a fixed key. Never a panic; an accepted trusted load must
//! carry a valid signature by that key. The bytes are also tried with their checksums repaired,
//! so that mutations reach the manifest and section checks behind the SHA-256.
#![no_main]

use edgerec::training::Bundle;
use edgerec::{Engine, RecommendRequest};
use edgerec_fuzz::{repair_checksums, signed_by_trusted_key, trusted_key, write_seeds_if_asked};
use libfuzzer_sys::fuzz_target;

fn load(bytes: &[u8]) {
    let parsed = Bundle::parse(bytes).is_ok();
    match Engine::from_bundle(bytes) {
        Ok(engine) => {
            assert!(parsed, "the engine accepted what Bundle::parse refused");
            // A loaded engine must answer (it may refuse the request, never panic).
            let _ = RecommendRequest::from_json(br#"{"history": [], "k": 5}"#).map(|r| engine.recommend(&r));
            if let Some(first) = engine.items().ids().first() {
                let body = serde_json::json!({"history": [first], "k": 5}).to_string();
                let _ = RecommendRequest::from_json(body.as_bytes()).map(|r| engine.recommend(&r));
            }
        }
        Err(_) => {}
    }
    if Engine::from_bundle_trusted(bytes, Some(trusted_key())).is_ok() {
        assert!(
            signed_by_trusted_key(bytes),
            "a trusted load accepted bytes without a valid signature by the trusted key"
        );
    }
}

fuzz_target!(
    init: {
        write_seeds_if_asked();
    },
    |data: &[u8]| {
        load(data);
        if let Some(repaired) = repair_checksums(data) {
            if repaired != data {
                load(&repaired);
            }
        }
    }
);

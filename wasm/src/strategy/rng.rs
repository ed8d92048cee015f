//! Deterministic randomness for decisions: a seeded xoshiro256** generator and the samplers the
//! learners need (uniform, standard normal, Gamma, Beta).
//!
//! Why our own: a decision must be reproducible from (decision seed, request key) on every platform
//! (native, wasm in Node, workerd and browsers), bit for bit. The generator is integer arithmetic;
//! the samplers use IEEE basic operations (`+ - * /`, `sqrt`, all correctly rounded) and the
//! pure-Rust `libm` for `ln`, `cos` and `pow`, so they give the same bits everywhere. Seeds are
//! never derived from time: [`DecisionRng::for_request`] hashes the decision seed and the request
//! key with FNV-1a and spreads the result with SplitMix64.

/// FNV-1a, 64 bits, over `bytes`: a tiny stable hash (no platform, endianness or version
/// dependence). Its low bits mix poorly, so callers that need uniform bits pass it through
/// [`mix64`] (as [`stable_hash64`] does).
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64's finaliser: a bijective avalanche of 64 bits.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stable 64-bit hash of `parts`, each part length-prefixed (so `("ab", "c")` and `("a", "bc")`
/// differ): FNV-1a followed by the SplitMix64 finaliser. The same on every platform and release;
/// experiment bucketing and request seeds are built on it, so changing it reshuffles users.
pub fn stable_hash64(parts: &[&[u8]]) -> u64 {
    let mut buf = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
    for p in parts {
        buf.extend_from_slice(&(p.len() as u64).to_le_bytes());
        buf.extend_from_slice(p);
    }
    mix64(fnv1a64(&buf))
}

/// A seeded xoshiro256** generator (state expanded from the seed by SplitMix64) with the
/// samplers the learners use. Same seed, same sequence, on every platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRng {
    s: [u64; 4],
}

impl DecisionRng {
    /// A generator from a 64-bit seed.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            mix64(x)
        };
        // SplitMix64 never yields four zeros in a row, so the state is never all zero.
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    /// The generator for one decision: seeded by the stable hash of the strategy's decision seed
    /// and the request key (e.g. the decision id or user + page), never by time.
    pub fn for_request(decision_seed: u64, request_key: &str) -> Self {
        Self::new(stable_hash64(&[
            &decision_seed.to_le_bytes(),
            request_key.as_bytes(),
        ]))
    }

    /// The next 64 uniform bits (xoshiro256**).
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits (exact: an integer times 2^-53).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal draw (Box–Muller; the second value of the pair is discarded so the
    /// generator carries no cache).
    pub fn normal(&mut self) -> f64 {
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * core::f64::consts::PI * u2)
    }

    /// A Gamma(`shape`, 1) draw (Marsaglia–Tsang; shapes below 1 through the boost
    /// Gamma(a) = Gamma(a + 1) · U^(1/a)). NaN, without drawing, unless `shape` is positive
    /// and finite.
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if !(shape > 0.0 && shape.is_finite()) {
            return f64::NAN;
        }
        if shape < 1.0 {
            let g = self.gamma(shape + 1.0);
            let u = 1.0 - self.next_f64();
            return g * libm::pow(u, 1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / libm::sqrt(9.0 * d);
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.next_f64();
            let x2 = x * x;
            if u < 1.0 - 0.0331 * x2 * x2 {
                return d * v;
            }
            if u > 0.0 && libm::log(u) < 0.5 * x2 + d * (1.0 - v + libm::log(v)) {
                return d * v;
            }
        }
    }

    /// A Beta(`a`, `b`) draw as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        let y = self.gamma(b);
        if x + y == 0.0 {
            // Both underflowed (tiny shapes): fall back on the mean.
            return a / (a + b);
        }
        x / (x + y)
    }

    /// An index drawn from `probabilities` (non-negative, summing to about 1): the first index
    /// whose cumulative sum exceeds a uniform draw; rounding slack goes to the last positive one.
    pub fn pick(&mut self, probabilities: &[f64]) -> usize {
        let u = self.next_f64();
        let mut cumulative = 0.0;
        let mut last_positive = 0;
        for (i, &p) in probabilities.iter().enumerate() {
            if p > 0.0 {
                last_positive = i;
                cumulative += p;
                if u < cumulative {
                    return i;
                }
            }
        }
        last_positive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn xoshiro_from_a_fixed_seed_is_stable() {
        // Fixed vectors: these must not change across platforms or releases.
        let mut rng = DecisionRng::new(42);
        let got: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(got, XOSHIRO_SEED_42);
        let a = DecisionRng::for_request(7, "decision-1").next_u64();
        let b = DecisionRng::for_request(7, "decision-1").next_u64();
        let c = DecisionRng::for_request(7, "decision-2").next_u64();
        let d = DecisionRng::for_request(8, "decision-1").next_u64();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    // Checked against an independent Python transcription of SplitMix64 + xoshiro256**.
    const XOSHIRO_SEED_42: [u64; 3] = [
        1_546_998_764_402_558_742,
        6_990_951_692_964_543_102,
        12_544_586_762_248_559_009,
    ];

    #[test]
    fn samplers_have_the_right_moments() {
        let mut rng = DecisionRng::new(1);
        let n = 200_000;
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let x = rng.normal();
            s += x;
            s2 += x * x;
        }
        assert!((s / n as f64).abs() < 0.01);
        assert!((s2 / n as f64 - 1.0).abs() < 0.01);
        for shape in [0.3, 1.0, 2.5, 40.0] {
            let m: f64 = (0..n).map(|_| rng.gamma(shape)).sum::<f64>() / n as f64;
            assert!(
                (m - shape).abs() < 0.02 * shape.max(1.0),
                "gamma({shape}) mean {m}"
            );
        }
        let (a, b) = (2.0, 5.0);
        let m: f64 = (0..n).map(|_| rng.beta(a, b)).sum::<f64>() / n as f64;
        assert!((m - a / (a + b)).abs() < 0.005);
        let u: f64 = (0..n).map(|_| rng.next_f64()).sum::<f64>() / n as f64;
        assert!((u - 0.5).abs() < 0.005);
        assert!(rng.gamma(f64::NAN).is_nan() && rng.gamma(-1.0).is_nan());
        assert!(rng.beta(0.0, 1.0).is_nan());
    }

    #[test]
    fn pick_follows_the_probabilities() {
        let mut rng = DecisionRng::new(3);
        let p = [0.2, 0.0, 0.5, 0.3];
        let mut counts = [0usize; 4];
        for _ in 0..100_000 {
            counts[rng.pick(&p)] += 1;
        }
        assert_eq!(counts[1], 0);
        for (c, p) in counts.iter().zip(p) {
            assert!((*c as f64 / 100_000.0 - p).abs() < 0.01);
        }
    }
}

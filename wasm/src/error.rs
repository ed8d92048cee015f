//! Errors with stable machine-readable codes. The codes are part of the public API: the JS
//! bindings and the worker return them as `code`, so front-end code can branch on them.

/// Why a bundle was refused. Each failure mode has its own variant and code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BundleError {
    #[error("not an edgerec bundle: it starts with {found:02x?}, expected the magic bytes \"EDGEREC\\0\"")]
    BadMagic { found: Vec<u8> },
    #[error("unsupported bundle format version {found}; this engine reads version {supported}")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("truncated bundle: the {part} ends at byte {needed} but the file has only {available} bytes")]
    Truncated {
        part: &'static str,
        needed: u64,
        available: u64,
    },
    #[error(
        "{extra} unexpected bytes after the end of the bundle (expected {expected} bytes in all)"
    )]
    TrailingData { extra: u64, expected: u64 },
    #[error("checksum mismatch: the bundle hashes to SHA-256 {actual} but records {expected}; the file is corrupt or was changed")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("payload checksum mismatch: the manifest records SHA-256 {expected} but the payload hashes to {actual}")]
    PayloadChecksumMismatch { expected: String, actual: String },
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
    #[error("invalid section `{name}`: {problem}")]
    InvalidSection { name: String, problem: String },
    #[error("the bundle holds a `{found}` model, which this engine cannot serve")]
    UnsupportedModel { found: String },
    #[error("invalid bundle header: {0}")]
    InvalidHeader(String),
    #[error(
        "the bundle is not signed, but this engine only accepts bundles signed by key {trusted}"
    )]
    Unsigned { trusted: String },
    #[error("bad bundle signature: {reason}")]
    BadSignature { reason: String },
    #[error("the bundle is signed by key {signer}, but this engine only trusts key {trusted}")]
    UntrustedSigner { signer: String, trusted: String },
    #[error("invalid key: {problem}")]
    InvalidKey { problem: String },
    /// The manifest and the weights disagree (shapes, vocabulary, item count).
    #[error("the manifest does not match the weights: {0}")]
    ManifestMismatch(String),
    /// A value inside a section is outside what it may be (an index past a table, a NaN scale).
    #[error("out-of-range value in section `{section}`: {problem}")]
    OutOfRange { section: String, problem: String },
}

impl BundleError {
    /// Stable snake_case code naming the failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadMagic { .. } => "bad_magic",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::Truncated { .. } => "truncated",
            Self::TrailingData { .. } => "trailing_data",
            Self::ChecksumMismatch { .. } => "checksum_mismatch",
            Self::PayloadChecksumMismatch { .. } => "payload_checksum_mismatch",
            Self::InvalidManifest(_) => "invalid_manifest",
            Self::InvalidSection { .. } => "invalid_section",
            Self::UnsupportedModel { .. } => "unsupported_model",
            Self::InvalidHeader(_) => "invalid_header",
            Self::Unsigned { .. } => "unsigned_bundle",
            Self::BadSignature { .. } => "bad_signature",
            Self::UntrustedSigner { .. } => "untrusted_signer",
            Self::InvalidKey { .. } => "invalid_key",
            Self::ManifestMismatch(_) => "manifest_mismatch",
            Self::OutOfRange { .. } => "out_of_range",
        }
    }
}

/// Why a request was refused. `field` names the offending part of the request where there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error("request body is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("request body is not valid JSON: {message}")]
    InvalidJson { message: String },
    #[error("the request must be a JSON object such as {example}, found {found}")]
    NotAnObject {
        found: &'static str,
        example: &'static str,
    },
    #[error("unknown field `{field}` in request; expected one of {expected}")]
    UnknownField { field: String, expected: String },
    #[error("invalid value for `{field}`: {message}")]
    InvalidField { field: String, message: String },
    /// A well-formed value the model does not know, e.g. a category not in the catalog.
    #[error("unknown value for `{field}`: {message}")]
    UnknownValue { field: String, message: String },
    /// A filter this bundle cannot apply, e.g. a category filter on a bundle without a catalog.
    #[error("unsupported filter `{field}`: {message}")]
    UnsupportedFilter { field: String, message: String },
    /// A request this bundle's model cannot answer, e.g. `similar` by vector on a bundle
    /// without item vectors.
    #[error("unsupported request: {message}")]
    Unsupported { message: String },
    /// The model failed while answering (a bug, not bad input): reported, never a panic.
    #[error("the model failed: {message}")]
    Internal { message: String },
}

impl RequestError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "body_too_large",
            Self::InvalidJson { .. } => "invalid_json",
            Self::NotAnObject { .. } => "invalid_request",
            Self::UnknownField { .. } => "unknown_field",
            Self::InvalidField { .. } => "invalid_field",
            Self::UnknownValue { .. } => "unknown_value",
            Self::UnsupportedFilter { .. } => "unsupported_filter",
            Self::Unsupported { .. } => "unsupported_request",
            Self::Internal { .. } => "internal_error",
        }
    }

    /// The request field at fault, if the error concerns one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::UnknownField { field, .. }
            | Self::InvalidField { field, .. }
            | Self::UnknownValue { field, .. }
            | Self::UnsupportedFilter { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// Any error the engine returns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Request(#[from] RequestError),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Bundle(e) => e.code(),
            Self::Request(e) => e.code(),
        }
    }
}

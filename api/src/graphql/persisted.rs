//! Persisted documents: a request may name its document by hash instead of sending it, and a
//! server may run only the documents it was given.
//!
//! Two modes ([`PersistedDocuments`]):
//!
//! * **Automatic persisted queries** (the default; Apollo's protocol, which Apollo Client, urql
//!   and others speak): a request carries `extensions.persistedQuery = {"version": 1,
//!   "sha256Hash": "<hex>"}`. Without a `query`, the server runs the document it holds under that
//!   hash, or answers `PERSISTED_QUERY_NOT_FOUND`, and the client sends the hash again with the
//!   document, which the server checks against the hash and keeps. The kept documents are
//!   bounded ([`AUTOMATIC_CACHE_BYTES`]; the oldest go first), so clients cannot grow memory.
//! * **Trusted documents** (`AMANAH_GRAPHQL_TRUSTED_DOCUMENTS=FILE`): only the documents of the
//!   file run, as production frontends use to close the door on arbitrary queries. The file is a
//!   JSON object from the SHA-256 (lower-case hex) of each document to the document (what GraphQL
//!   Code Generator's `persisted-documents.json` holds); every key is checked against its
//!   document when the server starts. A request names a document by `persistedQuery` hash, or
//!   sends its text, which must hash to a listed one; anything else is `PERSISTED_QUERY_NOT_FOUND`.
//!
//! A hash that does not match the document sent with it, or a `persistedQuery` that is not
//! version 1 with a 64-digit hex hash, is `BAD_USER_INPUT` naming `extensions.persistedQuery`.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest as _, Sha256};

use crate::error::ErrorCode;

/// Memory for the documents automatic persisted queries keep, in bytes of document text.
pub const AUTOMATIC_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// The `extensions` key of a persisted query.
pub const EXTENSION: &str = "persistedQuery";

/// Where a request's document comes from.
#[derive(Debug)]
pub enum PersistedDocuments {
    /// Automatic persisted queries: any document, registered by its clients.
    Automatic(AutomaticCache),
    /// Only these documents run, by hash.
    Trusted(HashMap<String, Arc<str>>),
}

impl Default for PersistedDocuments {
    fn default() -> Self {
        Self::Automatic(AutomaticCache::new(AUTOMATIC_CACHE_BYTES))
    }
}

/// Why a request's document could not be found or accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    /// `extensions.persistedQuery` for a malformed reference or a hash that does not match.
    pub field: Option<&'static str>,
    pub message: String,
}

impl Refusal {
    fn not_found(message: &str) -> Self {
        Self {
            code: ErrorCode::PersistedQueryNotFound,
            field: None,
            message: message.to_owned(),
        }
    }

    fn bad_reference(message: &str) -> Self {
        Self {
            code: ErrorCode::BadUserInput,
            field: Some("extensions.persistedQuery"),
            message: message.to_owned(),
        }
    }
}

/// Why the trusted documents file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TrustedDocumentsError {
    #[error(
        "the trusted documents file {path} could not be read ({source}); check AMANAH_GRAPHQL_TRUSTED_DOCUMENTS"
    )]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the trusted documents file {path} is not a JSON object from SHA-256 hashes to documents ({reason})"
    )]
    Malformed { path: String, reason: String },
    #[error(
        "in the trusted documents file {path}, the key {key} is not the SHA-256 of its document (it is {actual}); regenerate the file"
    )]
    WrongHash {
        path: String,
        key: String,
        actual: String,
    },
}

impl PersistedDocuments {
    /// Trusted documents from `path` (see the module documentation).
    ///
    /// # Errors
    /// The file cannot be read, is not a JSON object of strings, or a key is not the SHA-256 of
    /// its document.
    pub fn trusted_from_file(path: &Path) -> Result<Self, TrustedDocumentsError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| TrustedDocumentsError::Unreadable {
                path: shown.clone(),
                source,
            })?;
        let entries: HashMap<String, String> =
            serde_json::from_str(&text).map_err(|error| TrustedDocumentsError::Malformed {
                path: shown.clone(),
                reason: error.to_string(),
            })?;
        let mut documents = HashMap::with_capacity(entries.len());
        for (key, document) in entries {
            let actual = sha256_hex(&document);
            let key = key
                .strip_prefix("sha256:")
                .unwrap_or(&key)
                .to_ascii_lowercase();
            if key != actual {
                return Err(TrustedDocumentsError::WrongHash {
                    path: shown,
                    key,
                    actual,
                });
            }
            documents.insert(key, Arc::from(document));
        }
        Ok(Self::Trusted(documents))
    }

    /// Whether only listed documents run.
    #[must_use]
    pub fn is_trusted_only(&self) -> bool {
        matches!(self, Self::Trusted(_))
    }

    /// The document a request runs, when it is not the `query` sent: the one its
    /// `persistedQuery` names (`reference`, the value of `extensions.persistedQuery`). `None`:
    /// run `query` as sent. An empty `query` means none was sent.
    ///
    /// # Errors
    /// A [`Refusal`] (see the module documentation).
    pub fn resolve(
        &self,
        query: &str,
        reference: Option<&serde_json::Value>,
    ) -> Result<Option<String>, Refusal> {
        let hash = reference.map(parse_reference).transpose()?;
        match (self, hash) {
            (Self::Automatic(_), None) => Ok(None),
            (Self::Automatic(cache), Some(hash)) if query.is_empty() => cache
                .get(&hash)
                .map(|document| Some(document.to_string()))
                // The message Apollo Client and urql look for, besides the code.
                .ok_or_else(|| Refusal::not_found("PersistedQueryNotFound")),
            (Self::Automatic(cache), Some(hash)) => {
                check_hash(query, &hash)?;
                cache.insert(hash, query);
                Ok(None)
            }
            (Self::Trusted(documents), hash) => {
                let hash = match hash {
                    Some(hash) if query.is_empty() => hash,
                    Some(hash) => {
                        check_hash(query, &hash)?;
                        hash
                    }
                    None => sha256_hex(query),
                };
                let Some(document) = documents.get(&hash) else {
                    return Err(Refusal::not_found(
                        "Only trusted documents run on this server, and this one is not among \
                         them.",
                    ));
                };
                Ok(query.is_empty().then(|| document.to_string()))
            }
        }
    }
}

/// The hash of a `persistedQuery` reference: `{"version": 1, "sha256Hash": "<64 hex digits>"}`.
fn parse_reference(reference: &serde_json::Value) -> Result<String, Refusal> {
    let version = reference.get("version").and_then(serde_json::Value::as_u64);
    if version != Some(1) {
        return Err(Refusal::bad_reference(
            "persistedQuery must have version 1.",
        ));
    }
    match reference
        .get("sha256Hash")
        .and_then(serde_json::Value::as_str)
    {
        Some(hash) if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(hash.to_ascii_lowercase())
        }
        _ => Err(Refusal::bad_reference(
            "persistedQuery.sha256Hash must be the SHA-256 of the document, 64 hex digits.",
        )),
    }
}

fn check_hash(query: &str, hash: &str) -> Result<(), Refusal> {
    if sha256_hex(query) == hash {
        Ok(())
    } else {
        Err(Refusal::bad_reference(
            "persistedQuery.sha256Hash is not the SHA-256 of the document sent with it.",
        ))
    }
}

/// SHA-256 of a document's UTF-8 text, lower-case hex.
#[must_use]
pub fn sha256_hex(document: &str) -> String {
    let digest = Sha256::digest(document.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The documents automatic persisted queries keep: at most a budget of text, the oldest
/// registered dropped first.
#[derive(Debug)]
pub struct AutomaticCache {
    budget: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    documents: HashMap<String, Arc<str>>,
    order: VecDeque<String>,
    bytes: usize,
}

impl AutomaticCache {
    #[must_use]
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    fn get(&self, hash: &str) -> Option<Arc<str>> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.documents.get(hash).cloned()
    }

    fn insert(&self, hash: String, document: &str) {
        if document.len() > self.budget {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.documents.contains_key(&hash) {
            return;
        }
        while inner.bytes + document.len() > self.budget {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(dropped) = inner.documents.remove(&oldest) {
                inner.bytes -= dropped.len();
            }
        }
        inner.bytes += document.len();
        inner.order.push_back(hash.clone());
        inner.documents.insert(hash, Arc::from(document));
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use serde_json::json;

    use super::*;

    fn reference(document: &str) -> serde_json::Value {
        json!({ "version": 1, "sha256Hash": sha256_hex(document) })
    }

    #[test]
    fn the_hash_is_sha256_hex() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn automatic_persisted_queries_register_then_serve_by_hash() {
        let documents = PersistedDocuments::default();
        let query = "{ apiVersion }";
        let by_hash = reference(query);
        let refusal = documents.resolve("", Some(&by_hash)).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::PersistedQueryNotFound);
        assert_eq!(documents.resolve(query, Some(&by_hash)).unwrap(), None);
        assert_eq!(
            documents.resolve("", Some(&by_hash)).unwrap().as_deref(),
            Some(query)
        );
        // Without a reference, any document runs as sent.
        assert_eq!(documents.resolve("{ me { sub } }", None).unwrap(), None);
    }

    #[test]
    fn a_hash_must_match_its_document_and_be_well_formed() {
        let documents = PersistedDocuments::default();
        let refusal = documents
            .resolve("{ me { sub } }", Some(&reference("{ apiVersion }")))
            .unwrap_err();
        assert_eq!(refusal.code, ErrorCode::BadUserInput);
        assert_eq!(refusal.field, Some("extensions.persistedQuery"));
        for bad in [
            json!({ "version": 2, "sha256Hash": sha256_hex("x") }),
            json!({ "version": 1, "sha256Hash": "abc" }),
            json!({ "version": 1 }),
            json!("x"),
        ] {
            let refusal = documents.resolve("", Some(&bad)).unwrap_err();
            assert_eq!(refusal.code, ErrorCode::BadUserInput, "{bad}");
        }
    }

    #[test]
    fn the_automatic_cache_keeps_to_its_budget_dropping_the_oldest() {
        let cache = AutomaticCache::new(10);
        cache.insert("a".to_owned(), "12345");
        cache.insert("b".to_owned(), "12345");
        cache.insert("c".to_owned(), "123");
        assert!(cache.get("a").is_none(), "the oldest went");
        assert!(cache.get("b").is_some() && cache.get("c").is_some());
        cache.insert("huge".to_owned(), "12345678901");
        assert!(
            cache.get("huge").is_none(),
            "larger than the budget: not kept"
        );
        let inner = cache.inner.lock().unwrap();
        assert!(inner.bytes <= 10);
    }

    #[test]
    fn trusted_documents_run_only_what_the_file_lists() {
        let listed = "query Listed { apiVersion }";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trusted.json");
        std::fs::write(&path, json!({ sha256_hex(listed): listed }).to_string()).unwrap();
        let documents = PersistedDocuments::trusted_from_file(&path).unwrap();
        assert!(documents.is_trusted_only());
        // By hash, by hash with the text, and by text alone.
        assert_eq!(
            documents
                .resolve("", Some(&reference(listed)))
                .unwrap()
                .as_deref(),
            Some(listed)
        );
        assert_eq!(
            documents.resolve(listed, Some(&reference(listed))).unwrap(),
            None
        );
        assert_eq!(documents.resolve(listed, None).unwrap(), None);
        // Anything else is refused, also when it registers itself with a correct hash.
        let other = "{ me { sub } }";
        for reference in [None, Some(reference(other))] {
            let refusal = documents.resolve(other, reference.as_ref()).unwrap_err();
            assert_eq!(refusal.code, ErrorCode::PersistedQueryNotFound);
        }
    }

    #[test]
    fn a_trusted_documents_file_with_a_wrong_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trusted.json");
        std::fs::write(&path, json!({ sha256_hex("{ a }"): "{ b }" }).to_string()).unwrap();
        let error = PersistedDocuments::trusted_from_file(&path).unwrap_err();
        assert!(
            matches!(error, TrustedDocumentsError::WrongHash { .. }),
            "{error}"
        );
        std::fs::write(&path, "[1, 2]").unwrap();
        assert!(matches!(
            PersistedDocuments::trusted_from_file(&path),
            Err(TrustedDocumentsError::Malformed { .. })
        ));
        assert!(matches!(
            PersistedDocuments::trusted_from_file(&dir.path().join("missing.json")),
            Err(TrustedDocumentsError::Unreadable { .. })
        ));
    }
}

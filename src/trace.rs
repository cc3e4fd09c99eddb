//! Request and trace ids, and the W3C `traceparent` header.
//!
//! `requestId` defaults to a random UUID v4 and `traceId` to the request id
//! (or to the trace id of an incoming `traceparent`). What goes out on the
//! wire must be a W3C trace-id (32 lowercase hex digits, not all zero), so
//! [`w3c_trace_id`] maps any trace id onto one: 32 hex digits are used as
//! they are, a UUID loses its dashes, anything else is hashed.

use sha2::{Digest, Sha256};

use crate::model::error::OrchestratorError;
use crate::platform::Random;

/// Longest `requestId` / `traceId` accepted.
pub const MAX_ID_LEN: usize = 256;

/// Checks a caller's `requestId` or `traceId`: ids go out as HTTP header
/// values (`x-request-id`), so only 1 to [`MAX_ID_LEN`] visible ASCII
/// characters (0x20..=0x7E) are accepted; a CR/LF could inject a header,
/// and anything else would fail every call in `fetch` as if the provider
/// were down.
///
/// # Errors
/// `invalid_request` naming `field`.
pub fn validate_id(field: &str, id: &str) -> Result<(), OrchestratorError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(OrchestratorError::request(
            field,
            format!("must be a non-empty string of at most {MAX_ID_LEN} characters"),
        ));
    }
    if !id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(OrchestratorError::request(
            field,
            "must hold visible ASCII characters only (no control characters such as CR or LF)",
        ));
    }
    Ok(())
}

/// The ids one run carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceIds {
    /// As the caller gave it (or the request id).
    pub trace_id: String,
    /// As the caller gave it (or a random UUID).
    pub request_id: String,
    /// The W3C trace-id derived from `trace_id`, made when a `traceparent`
    /// first needs it (an id that is not hex is hashed: not for every run).
    w3c: std::cell::OnceCell<String>,
}

impl TraceIds {
    /// Resolves the ids of a run from its options after checking the
    /// caller's ([`validate_id`]); an invalid incoming `traceparent` is
    /// ignored, as W3C asks. With an `invalid_request` error (naming
    /// `requestId` or `traceId`), the ids to report it under: the caller's
    /// invalid ones replaced.
    pub fn checked(
        trace_id: Option<&str>,
        request_id: Option<&str>,
        traceparent: Option<&str>,
        random: &dyn Random,
    ) -> (Self, Option<OrchestratorError>) {
        let checks = [("requestId", request_id), ("traceId", trace_id)];
        let invalid = checks
            .into_iter()
            .find_map(|(field, id)| id.and_then(|id| validate_id(field, id).err()));
        let valid = |id: &&str| validate_id("", id).is_ok();
        let (trace_id, request_id) = (trace_id.filter(valid), request_id.filter(valid));
        (Self::resolve(trace_id, request_id, traceparent, random), invalid)
    }

    /// Resolves the ids of a run from its options.
    pub fn resolve(
        trace_id: Option<&str>,
        request_id: Option<&str>,
        traceparent: Option<&str>,
        random: &dyn Random,
    ) -> Self {
        let request_id = request_id.map_or_else(|| random.uuid_v4(), str::to_owned);
        let trace_id = trace_id
            .map(str::to_owned)
            .or_else(|| traceparent.and_then(parse_traceparent))
            .unwrap_or_else(|| request_id.clone());
        Self {
            trace_id,
            request_id,
            w3c: std::cell::OnceCell::new(),
        }
    }

    /// A `traceparent` for one outgoing call, with a fresh span id.
    pub fn traceparent(&self, random: &dyn Random) -> String {
        let mut span = random.hex(8);
        if span.bytes().all(|b| b == b'0') {
            span = "0000000000000001".into();
        }
        let w3c = self.w3c.get_or_init(|| w3c_trace_id(&self.trace_id));
        format!("00-{w3c}-{span}-01")
    }
}

/// The same `traceparent` with a fresh span id (one per call a tool makes
/// of its own, such as a bundle's replicates). An unreadable header is
/// returned as it is.
pub fn with_new_span(traceparent: &str, random: &dyn Random) -> String {
    match parse_traceparent(traceparent) {
        Some(trace_id) => TraceIds {
            w3c: std::cell::OnceCell::from(trace_id.clone()),
            trace_id,
            request_id: String::new(),
        }
        .traceparent(random),
        None => traceparent.to_owned(),
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn all_zero(s: &str) -> bool {
    s.bytes().all(|b| b == b'0')
}

/// Maps any trace id onto a W3C trace-id.
pub fn w3c_trace_id(trace_id: &str) -> String {
    if is_hex(trace_id, 32) && !all_zero(trace_id) {
        return trace_id.to_ascii_lowercase();
    }
    let undashed: String = trace_id.chars().filter(|c| *c != '-').collect();
    let uuid_shaped = trace_id.len() == 36 && trace_id.matches('-').count() == 4;
    if uuid_shaped && is_hex(&undashed, 32) && !all_zero(&undashed) {
        return undashed.to_ascii_lowercase();
    }
    let digest = Sha256::digest(trace_id.as_bytes());
    let mut hex = crate::model::hex::encode(digest.get(..16).unwrap_or_default());
    if all_zero(&hex) {
        hex.replace_range(31.., "1");
    }
    hex
}

/// The trace-id of a `traceparent` header (`00-<trace-id>-<span-id>-<flags>`),
/// if it is well formed.
pub fn parse_traceparent(header: &str) -> Option<String> {
    let mut parts = header.trim().split('-');
    let (version, trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let valid = is_hex(version, 2)
        && version != "ff"
        && (version != "00" || parts.next().is_none())
        && is_hex(trace, 32)
        && !all_zero(trace)
        && is_hex(span, 16)
        && !all_zero(span)
        && is_hex(flags, 2);
    valid.then(|| trace.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_map_onto_w3c() {
        assert_eq!(
            w3c_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736"),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(
            w3c_trace_id("123e4567-e89b-42d3-a456-426614174000"),
            "123e4567e89b42d3a456426614174000"
        );
        let hashed = w3c_trace_id("trace-456");
        assert!(is_hex(&hashed, 32) && !all_zero(&hashed));
        assert_eq!(hashed, w3c_trace_id("trace-456"));
        let nil = w3c_trace_id("00000000-0000-0000-0000-000000000000");
        assert!(!all_zero(&nil));
        assert_ne!(
            w3c_trace_id("00000000000000000000000000000000"),
            "00000000000000000000000000000000"
        );
    }

    #[test]
    fn traceparent_parsing() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            parse_traceparent(tp).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(parse_traceparent("garbage"), None);
        assert_eq!(
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"),
            None
        );
    }
}

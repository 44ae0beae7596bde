//! The on-store record format: one line per record,
//! `<prev hash hex> <hash hex> <event JSON>\n`, where
//! `hash = blake3(prev hash bytes || event JSON bytes)`.
//!
//! Hashing the stored JSON bytes (not a re-serialization) keeps verification exact
//! and fast: the verifier hashes what it read and never re-encodes.

use super::event::{AuditEvent, AuditRecord};
use crate::digest::Digest;
use crate::error::{Error, Result};

/// The "previous hash" of the first record.
pub(crate) const GENESIS: [u8; 32] = [0; 32];

const HEX: usize = 64;

/// The chain hash of a record.
pub(crate) fn link_hash(prev: &[u8; 32], json: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(prev);
    h.update(json);
    *h.finalize().as_bytes()
}

/// Encodes `events` as one segment, numbering them from `first_seq` and chaining
/// from `prev`. Returns the bytes and the last record's (seq, hash).
pub(crate) fn encode(
    events: &mut [AuditEvent],
    first_seq: u64,
    prev: [u8; 32],
) -> Result<(Vec<u8>, u64, [u8; 32])> {
    let mut out = Vec::with_capacity(events.len() * 320);
    let mut prev = prev;
    let mut seq = first_seq;
    let mut json = Vec::with_capacity(256);
    for (i, e) in events.iter_mut().enumerate() {
        seq = first_seq + i as u64;
        e.seq = seq;
        json.clear();
        serde_json::to_writer(&mut json, e)
            .map_err(|err| Error::invalid("audit event", e.principal.clone(), err.to_string()))?;
        let hash = link_hash(&prev, &json);
        let mut hexbuf = [0u8; HEX];
        // Both buffers are exactly 2 * 32 bytes long, so encoding cannot fail.
        let _ = hex::encode_to_slice(prev, &mut hexbuf);
        out.extend_from_slice(&hexbuf);
        out.push(b' ');
        let _ = hex::encode_to_slice(hash, &mut hexbuf);
        out.extend_from_slice(&hexbuf);
        out.push(b' ');
        out.extend_from_slice(&json);
        out.push(b'\n');
        prev = hash;
    }
    Ok((out, seq, prev))
}

/// One record line, split but not checked.
pub(crate) struct Line<'a> {
    pub(crate) prev: [u8; 32],
    pub(crate) hash: [u8; 32],
    pub(crate) json: &'a [u8],
}

impl Line<'_> {
    /// The `seq` at the start of the JSON (`{"seq":N,`), without a full parse.
    pub(crate) fn seq(&self) -> Option<u64> {
        let rest = self.json.strip_prefix(b"{\"seq\":")?;
        let end = rest.iter().position(|b| !b.is_ascii_digit())?;
        std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
    }

    /// The full record.
    pub(crate) fn record(&self) -> std::result::Result<AuditRecord, String> {
        let event: AuditEvent = serde_json::from_slice(self.json).map_err(|e| e.to_string())?;
        Ok(AuditRecord {
            event,
            prev_hash: digest(self.prev),
            hash: digest(self.hash),
        })
    }
}

fn digest(b: [u8; 32]) -> Digest {
    Digest::from_hash(blake3::Hash::from_bytes(b))
}

/// Splits one line (without its `\n`).
pub(crate) fn parse_line(line: &[u8]) -> std::result::Result<Line<'_>, &'static str> {
    if line.len() < 2 * HEX + 3 || line[HEX] != b' ' || line[2 * HEX + 1] != b' ' {
        return Err("not '<prev> <hash> <json>'");
    }
    let mut prev = [0u8; 32];
    let mut hash = [0u8; 32];
    hex::decode_to_slice(&line[..HEX], &mut prev).map_err(|_| "bad prev hash hex")?;
    hex::decode_to_slice(&line[HEX + 1..2 * HEX + 1], &mut hash).map_err(|_| "bad hash hex")?;
    Ok(Line {
        prev,
        hash,
        json: &line[2 * HEX + 2..],
    })
}

/// The lines of a segment (without their `\n`), in one pass. A segment must end
/// with `\n`; a final fragment without one is an `Err` line (a torn or truncated write).
pub(crate) fn lines(
    segment: &[u8],
) -> impl Iterator<Item = std::result::Result<&[u8], &'static str>> {
    segment
        .split_inclusive(|&b| b == b'\n')
        .map(|l| match l.strip_suffix(b"\n") {
            Some(line) => Ok(line),
            None => Err("the last line has no newline (torn write)"),
        })
}

/// One record as the verifier needs it: its links, and whether its content hashes
/// to its stored hash.
pub(crate) struct Scanned {
    pub(crate) seq: Option<u64>,
    pub(crate) prev: [u8; 32],
    pub(crate) hash: [u8; 32],
    pub(crate) hash_ok: bool,
}

/// Parses and hashes every record of a segment, stopping at the first malformed one.
/// This is the CPU-heavy half of verification and needs no other segment, so the
/// verifier runs it for several segments in parallel.
pub(crate) fn scan(segment: &[u8]) -> Vec<std::result::Result<Scanned, &'static str>> {
    let mut out = Vec::with_capacity(segment.len() / 300 + 1);
    for line in lines(segment) {
        let scanned = line.and_then(parse_line).map(|l| Scanned {
            seq: l.seq(),
            prev: l.prev,
            hash: l.hash,
            hash_ok: link_hash(&l.prev, l.json) == l.hash,
        });
        let stop = scanned.is_err();
        out.push(scanned);
        if stop {
            break;
        }
    }
    out
}

/// The (seq, hash) of a segment's last record, to chain onto it.
pub(crate) fn last_link(segment: &[u8], what: &str) -> Result<(u64, [u8; 32])> {
    let broken = |reason: &str| Error::Integrity {
        what: format!("audit log {what}"),
        expected: "a well-formed last record".into(),
        actual: reason.to_string(),
    };
    let last = lines(segment)
        .last()
        .ok_or_else(|| broken("an empty segment"))?
        .map_err(broken)?;
    let line = parse_line(last).map_err(broken)?;
    let seq = line.seq().ok_or_else(|| broken("no seq"))?;
    Ok((seq, line.hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{Action, Principal};

    #[test]
    fn encode_parse_round_trip() {
        let mut evs: Vec<AuditEvent> = (0..3)
            .map(|i| {
                AuditEvent::new(
                    &Principal::user("a"),
                    Action::Write,
                    "model:m".parse().unwrap(),
                    super::super::Outcome::Allowed,
                )
                .with_detail("i", i.to_string())
            })
            .collect();
        let (bytes, last, hash) = encode(&mut evs, 7, GENESIS).unwrap();
        assert_eq!(last, 9);
        let ls: Vec<_> = lines(&bytes)
            .map(|l| parse_line(l.unwrap()).unwrap())
            .collect();
        assert_eq!(ls.len(), 3);
        assert_eq!(ls[0].prev, GENESIS);
        assert_eq!(ls[1].prev, ls[0].hash);
        assert_eq!(ls[2].hash, hash);
        assert_eq!(ls[0].hash, link_hash(&GENESIS, ls[0].json));
        assert_eq!(
            ls.iter().map(|l| l.seq().unwrap()).collect::<Vec<_>>(),
            [7, 8, 9]
        );
        assert_eq!(ls[2].record().unwrap().event.details["i"], "2");
        assert_eq!(last_link(&bytes, "s").unwrap(), (9, hash));
        let torn = &bytes[..bytes.len() - 5];
        assert!(last_link(torn, "s").is_err());
        assert_eq!(lines(b"").count(), 0);
    }
}

//! A tamper-evident, append-only audit log on any object store.
//!
//! Governance and audit layers in the domain crates turn each call into an
//! [`AuditEvent`] (who, action, resource, when, [`Outcome`], request digest) and
//! [`record`](AuditLog::record) it. The [`AuditLog`] group-commits events into
//! sequenced, create-only segments, chains every record to the previous one with a
//! blake3 hash, and checkpoints the head so that [`verify`](AuditLog::verify) finds
//! edits, deletions, reordering, insertions and a truncated tail.
//!
//! ## Layout under the log's storage
//!
//! | key | content |
//! |---|---|
//! | `segments/<n:020>` | records, one per line: `<prev hash hex> <hash hex> <event JSON>` |
//! | `checkpoints/<n:020>` | `{"segment":n,"seq":s,"hash":"blake3:…"}` (optionally on another store) |
//!
//! `hash = blake3(prev hash bytes || event JSON bytes)`; the first record's previous
//! hash is 32 zero bytes. The event JSON starts with its `seq`.
//!
//! ## What is and is not detected
//!
//! Any change to a stored record, a removed, moved or added record, a removed
//! segment, and a tail cut shorter than the newest checkpoint. An attacker who can
//! rewrite *both* the log and its checkpoints can rewrite history from the last
//! checkpoint they can forge on; keep checkpoints on a separate store
//! ([`AuditOptions::checkpoint_storage`]) to rule that out.
//!
//! See [`AuditLog`] for an example.

mod event;
mod log;
mod segment;
mod verify;

pub use event::{AuditEvent, AuditQuery, AuditRecord, Outcome};
pub use log::{AuditLog, AuditOptions};
pub use verify::{BreakReason, BrokenLink, VerifyReport};

#[cfg(test)]
mod tests;

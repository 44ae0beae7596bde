//! [`AuditLog::verify`]: walk the chain, report the first broken link.

use super::log::{AuditLog, Checkpoint};
use super::segment;
use crate::digest::Digest;
use crate::error::{Error, Result};
use futures::{StreamExt, TryStreamExt};

/// Why the chain is broken at a [`BrokenLink`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakReason {
    /// The record (or segment) cannot be parsed.
    Malformed(String),
    /// Segment `n` is absent although later segments exist (a deleted segment).
    MissingSegment,
    /// The record's sequence number is not the next one (a record deleted, reordered
    /// or inserted).
    SeqMismatch {
        /// The seq this position must hold.
        expected: u64,
        /// The seq found.
        found: u64,
    },
    /// The record's `prev_hash` is not the previous record's hash (a record before it
    /// was replaced, or this one was moved here).
    PrevMismatch,
    /// The record's content does not hash to its stored hash (an edit).
    HashMismatch,
    /// A checkpoint vouches for another hash at this seq (the log was rewritten).
    CheckpointMismatch {
        /// The checkpoint number.
        checkpoint: u64,
    },
    /// The log ends before a checkpointed head (records were cut off the end).
    Truncated {
        /// The checkpoint number.
        checkpoint: u64,
        /// The seq the checkpoint vouches for.
        checkpoint_seq: u64,
        /// The last seq present.
        last_seq: u64,
    },
    /// A checkpoint cannot be parsed.
    BadCheckpoint {
        /// The checkpoint number.
        checkpoint: u64,
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for BreakReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BreakReason::Malformed(r) => write!(f, "malformed record: {r}"),
            BreakReason::MissingSegment => f.write_str("segment missing"),
            BreakReason::SeqMismatch { expected, found } => {
                write!(f, "expected seq {expected}, found {found}")
            }
            BreakReason::PrevMismatch => {
                f.write_str("prev_hash does not match the previous record's hash")
            }
            BreakReason::HashMismatch => f.write_str("content does not match the record's hash"),
            BreakReason::CheckpointMismatch { checkpoint } => {
                write!(f, "checkpoint #{checkpoint} vouches for another hash")
            }
            BreakReason::Truncated {
                checkpoint,
                checkpoint_seq,
                last_seq,
            } => write!(
                f,
                "truncated: checkpoint #{checkpoint} vouches for seq {checkpoint_seq} \
                 but the log ends at seq {last_seq}"
            ),
            BreakReason::BadCheckpoint { checkpoint, reason } => {
                write!(f, "checkpoint #{checkpoint} is malformed: {reason}")
            }
        }
    }
}

/// Where the chain breaks: segment number, record index in it (from 0), and why.
/// For [`BreakReason::Truncated`] the index is one past the last record present;
/// for checkpoint problems the segment is 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// Segment number (from 1).
    pub segment: u64,
    /// Record index within the segment (from 0).
    pub index: usize,
    /// Why.
    pub reason: BreakReason,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "segment {} record {}: {}",
            self.segment, self.index, self.reason
        )
    }
}

/// What [`AuditLog::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Segments read.
    pub segments: u64,
    /// Records whose links checked out (up to the first break).
    pub records: u64,
    /// Segment bytes read.
    pub bytes: u64,
    /// The last good record's (seq, hash).
    pub head: Option<(u64, Digest)>,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

impl VerifyReport {
    /// No broken link.
    pub fn is_clean(&self) -> bool {
        self.broken.is_none()
    }

    /// `Ok(self)` when clean.
    ///
    /// # Errors
    /// `Integrity` naming the first broken link.
    pub fn into_result(self) -> Result<Self> {
        match &self.broken {
            None => Ok(self),
            Some(b) => Err(Error::Integrity {
                what: format!("audit log segment {} record {}", b.segment, b.index),
                expected: "an unbroken hash chain".into(),
                actual: b.reason.to_string(),
            }),
        }
    }
}

struct Walker {
    report: VerifyReport,
    expected_seq: u64,
    prev: [u8; 32],
    /// Checkpoints sorted by seq: (seq, checkpoint number, hash).
    checkpoints: Vec<(u64, u64, [u8; 32])>,
    next_cp: usize,
}

impl Walker {
    fn brk(&mut self, segment: u64, index: usize, reason: BreakReason) {
        self.report.broken = Some(BrokenLink {
            segment,
            index,
            reason,
        });
    }

    /// Checks one scanned segment against the chain; false once it is broken.
    fn segment(
        &mut self,
        no: u64,
        len: usize,
        scanned: &[std::result::Result<segment::Scanned, &'static str>],
    ) -> bool {
        self.report.segments += 1;
        self.report.bytes += len as u64;
        if len == 0 {
            self.brk(no, 0, BreakReason::Malformed("empty segment".into()));
            return false;
        }
        for (i, rec) in scanned.iter().enumerate() {
            let rec = match rec {
                Ok(r) => r,
                Err(r) => {
                    self.brk(no, i, BreakReason::Malformed((*r).into()));
                    return false;
                }
            };
            let Some(seq) = rec.seq else {
                self.brk(no, i, BreakReason::Malformed("no leading seq".into()));
                return false;
            };
            if seq != self.expected_seq {
                let expected = self.expected_seq;
                self.brk(
                    no,
                    i,
                    BreakReason::SeqMismatch {
                        expected,
                        found: seq,
                    },
                );
                return false;
            }
            if rec.prev != self.prev {
                self.brk(no, i, BreakReason::PrevMismatch);
                return false;
            }
            if !rec.hash_ok {
                self.brk(no, i, BreakReason::HashMismatch);
                return false;
            }
            while let Some(&(cp_seq, cp_no, cp_hash)) = self.checkpoints.get(self.next_cp) {
                if cp_seq != seq {
                    break;
                }
                if cp_hash != rec.hash {
                    self.brk(no, i, BreakReason::CheckpointMismatch { checkpoint: cp_no });
                    return false;
                }
                self.next_cp += 1;
            }
            self.prev = rec.hash;
            self.expected_seq += 1;
            self.report.records += 1;
        }
        if let Some(Ok(last)) = scanned.last() {
            let h = Digest::from_hash(blake3::Hash::from_bytes(last.hash));
            self.report.head = Some((self.expected_seq - 1, h));
        }
        true
    }
}

/// Segments smaller than this are scanned inline; larger ones on the blocking pool,
/// several at a time.
const PARALLEL_SCAN_BYTES: usize = 64 * 1024;

impl AuditLog {
    /// Walks the whole chain and reports the first broken link: an edited, deleted,
    /// reordered or inserted record, a missing segment, a record that disagrees with
    /// a checkpoint, or a tail shorter than the last checkpoint.
    ///
    /// Only durable records are checked (call [`AuditLog::flush`] first to include
    /// queued ones). Use [`VerifyReport::into_result`] to turn a break into an
    /// `Integrity` error.
    ///
    /// # Errors
    /// Store failures (a break in the chain is reported, not returned as an error).
    pub async fn verify(&self) -> Result<VerifyReport> {
        let inner = &self.inner;
        let mut w = Walker {
            report: VerifyReport {
                segments: 0,
                records: 0,
                bytes: 0,
                head: None,
                checkpoints: 0,
                broken: None,
            },
            expected_seq: 1,
            prev: segment::GENESIS,
            checkpoints: Vec::new(),
            next_cp: 0,
        };
        for (no, bytes) in inner.checkpoints.read_from(1).await? {
            match serde_json::from_slice::<Checkpoint>(&bytes) {
                Ok(cp) => w.checkpoints.push((cp.seq, no, *cp.hash.as_bytes())),
                Err(e) => {
                    w.brk(
                        0,
                        0,
                        BreakReason::BadCheckpoint {
                            checkpoint: no,
                            reason: e.to_string(),
                        },
                    );
                    return Ok(w.report);
                }
            }
        }
        w.report.checkpoints = w.checkpoints.len() as u64;
        w.checkpoints.sort_unstable();

        let seqs = inner.segments.list_from(1).await?;
        let mut expected_no = 1u64;
        let mut last_no = 0u64;
        let mut last_count = 0usize;
        let mut stream = futures::stream::iter(seqs)
            .map(|s| async move {
                let bytes = inner.segments.get(s).await?;
                let len = bytes.len();
                let scanned = if len < PARALLEL_SCAN_BYTES {
                    segment::scan(&bytes)
                } else {
                    tokio::task::spawn_blocking(move || segment::scan(&bytes))
                        .await
                        .map_err(|e| Error::backend("audit", format!("verify task: {e}")))?
                };
                Ok::<_, Error>((s, len, scanned))
            })
            .buffered(8);
        while let Some((no, len, scanned)) = stream.try_next().await? {
            if no != expected_no {
                w.brk(expected_no, 0, BreakReason::MissingSegment);
                return Ok(w.report);
            }
            let before = w.report.records;
            if !w.segment(no, len, &scanned) {
                return Ok(w.report);
            }
            last_no = no;
            last_count = (w.report.records - before) as usize;
            expected_no += 1;
        }
        let last_seq = w.expected_seq - 1;
        if let Some(&(cp_seq, cp_no, _)) = w.checkpoints.iter().rev().find(|c| c.0 > last_seq) {
            w.brk(
                last_no,
                last_count,
                BreakReason::Truncated {
                    checkpoint: cp_no,
                    checkpoint_seq: cp_seq,
                    last_seq,
                },
            );
        }
        Ok(w.report)
    }
}

//! The conformance suite every [`OnlineStore`] backend runs.
//!
//! Each check uses fresh random view names, asserts values, and deletes what it wrote.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is the report

use crate::online::{OnlineRow, OnlineStore, RowSink, StoredRow};

fn row(key: &[u8], ev: i64, cr: i64, v: &str) -> OnlineRow {
    OnlineRow {
        key: key.to_vec(),
        event_ts: ev,
        created_ts: cr,
        value: bytes::Bytes::copy_from_slice(v.as_bytes()),
    }
}

fn view() -> String {
    mlops_core::testkit::namespace()
}

/// Missing keys and never-written views read as `None`, in key order.
pub async fn missing_keys_are_none(s: &dyn OnlineStore) {
    let v = view();
    let got = s.read(&v, &[b"a".to_vec(), b"b".to_vec()]).await.unwrap();
    assert_eq!(got, vec![None, None]);
    s.write(&v, vec![row(b"b", 1, 0, "x")]).await.unwrap();
    let got = s
        .read(&v, &[b"a".to_vec(), b"b".to_vec(), b"c".to_vec()])
        .await
        .unwrap();
    assert!(got[0].is_none() && got[2].is_none());
    assert_eq!(got[1], Some(row(b"b", 1, 0, "x")));
    s.delete_view(&v).await.unwrap();
}

/// Newer `(event_ts, created_ts)` wins; older is ignored; equal overwrites (idempotent).
pub async fn newer_wins(s: &dyn OnlineStore) {
    let v = view();
    s.write(&v, vec![row(b"k", 10, 5, "first")]).await.unwrap();
    s.write(&v, vec![row(b"k", 9, 99, "older")]).await.unwrap();
    s.write(&v, vec![row(b"k", 10, 4, "older-created")])
        .await
        .unwrap();
    let got = s.read(&v, &[b"k".to_vec()]).await.unwrap();
    assert_eq!(got[0].as_ref().unwrap().value, "first");
    s.write(&v, vec![row(b"k", 10, 5, "same")]).await.unwrap();
    s.write(&v, vec![row(b"k", 10, 5, "same")]).await.unwrap();
    let got = s.read(&v, &[b"k".to_vec()]).await.unwrap();
    assert_eq!(got[0], Some(row(b"k", 10, 5, "same")));
    s.write(&v, vec![row(b"k", 11, i64::MIN, "newer")])
        .await
        .unwrap();
    let got = s.read(&v, &[b"k".to_vec()]).await.unwrap();
    assert_eq!(got[0].as_ref().unwrap().value, "newer");
    s.delete_view(&v).await.unwrap();
}

/// Views are separate namespaces; binary keys and empty values survive.
pub async fn views_are_independent(s: &dyn OnlineStore) {
    let (a, b) = (view(), view());
    s.write(&a, vec![row(&[0, 255, 1], 1, 0, "")])
        .await
        .unwrap();
    assert_eq!(s.read(&b, &[vec![0, 255, 1]]).await.unwrap(), vec![None]);
    assert_eq!(
        s.read(&a, &[vec![0, 255, 1]]).await.unwrap(),
        vec![Some(row(&[0, 255, 1], 1, 0, ""))]
    );
    s.delete_view(&a).await.unwrap();
    assert_eq!(s.read(&a, &[vec![0, 255, 1]]).await.unwrap(), vec![None]);
    s.delete_view(&b).await.unwrap();
}

/// Watermarks start absent, never move back, and go with `delete_view`.
pub async fn watermarks_are_monotonic(s: &dyn OnlineStore) {
    let v = view();
    assert_eq!(s.watermark(&v).await.unwrap(), None);
    s.set_watermark(&v, 100).await.unwrap();
    s.set_watermark(&v, 50).await.unwrap();
    assert_eq!(s.watermark(&v).await.unwrap(), Some(100));
    s.set_watermark(&v, -1).await.unwrap();
    s.set_watermark(&v, 200).await.unwrap();
    assert_eq!(s.watermark(&v).await.unwrap(), Some(200));
    s.delete_view(&v).await.unwrap();
    assert_eq!(s.watermark(&v).await.unwrap(), None);
}

/// Many keys in one call (the read path is batched/pipelined).
pub async fn bulk_read(s: &dyn OnlineStore) {
    let v = view();
    let rows: Vec<OnlineRow> = (0..500u32)
        .map(|i| row(&i.to_be_bytes(), i64::from(i), 0, "v"))
        .collect();
    s.write(&v, rows).await.unwrap();
    let keys: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let got = s.read(&v, &keys).await.unwrap();
    assert_eq!(got.len(), 1000);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(
            g.as_ref().map(|r| r.event_ts),
            (i < 500).then_some(i as i64)
        );
    }
    s.delete_view(&v).await.unwrap();
}

/// Copies what [`OnlineStore::read_into`] hands over.
struct Copied(Vec<Option<(i64, i64, Vec<u8>)>>);

impl RowSink for Copied {
    fn push(&mut self, row: Option<StoredRow<'_>>) {
        self.0
            .push(row.map(|r| (r.event_ts, r.created_ts, r.value.to_vec())));
    }
}

/// `read_into` hands over exactly what `read` returns: once per key, in key order (also
/// for a view never written and for repeated keys).
pub async fn read_into_matches_read(s: &dyn OnlineStore) {
    let v = view();
    let mut never = Copied(Vec::new());
    s.read_into(&v, &[b"a", b"b"], &mut never).await.unwrap();
    assert_eq!(never.0, vec![None, None]);
    let rows: Vec<OnlineRow> = (0..300u32)
        .map(|i| {
            row(
                &i.to_be_bytes(),
                i64::from(i),
                -i64::from(i),
                &format!("v{i}"),
            )
        })
        .collect();
    s.write(&v, rows).await.unwrap();
    let keys: Vec<Vec<u8>> = (0..600u32)
        .rev()
        .chain([7, 7])
        .map(|i| i.to_be_bytes().to_vec())
        .collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let mut got = Copied(Vec::new());
    s.read_into(&v, &refs, &mut got).await.unwrap();
    let want: Vec<Option<(i64, i64, Vec<u8>)>> = s
        .read(&v, &keys)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.map(|r| (r.event_ts, r.created_ts, r.value.to_vec())))
        .collect();
    assert_eq!(got.0.len(), 602);
    assert_eq!(got.0, want);
    assert_eq!(got.0[599], Some((0, 0, b"v0".to_vec())));
    assert_eq!(got.0[601], Some((7, -7, b"v7".to_vec())));
    assert!(got.0[..300].iter().all(Option::is_none));
    let mut none = Copied(Vec::new());
    s.read_into(&v, &[], &mut none).await.unwrap();
    assert!(none.0.is_empty());
    s.delete_view(&v).await.unwrap();
}

/// Runs every check.
pub async fn run_all(s: &dyn OnlineStore) {
    missing_keys_are_none(s).await;
    newer_wins(s).await;
    views_are_independent(s).await;
    watermarks_are_monotonic(s).await;
    bulk_read(s).await;
    read_into_matches_read(s).await;
}

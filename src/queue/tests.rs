//! The queue's rules, tested on the local stores.

use super::*;

/// The local stores, each real: a file and (when built) a database in
/// `dir`, named `stem.jsonl` and `stem.db`.
pub(super) fn local_stores(dir: &std::path::Path, stem: &str) -> Vec<Box<dyn Store>> {
    #[cfg_attr(not(feature = "sqlite"), allow(unused_mut))]
    let mut stores: Vec<Box<dyn Store>> = vec![Box::new(jsonl::JsonlQueue::new(
        dir.join(format!("{stem}.jsonl")),
    ))];
    #[cfg(feature = "sqlite")]
    stores.push(Box::new(sqlite::SqliteQueue::new(
        dir.join(format!("{stem}.db")),
    )));
    stores
}

/// A failed record line with this name, id and lost flag.
pub(super) fn rec(name: &str, id: &str, lost: bool) -> String {
    format!(
        "{{\"name\":\"{name}\",\"status\":\"failure\",\"pulled\":false,\"id\":\"{id}\",\"lost\":{lost}}}\n"
    )
}

/// The rules over the local stores, each real (a file, a database):
/// two records with one id (a lost record, then the returning
/// wrapper's real one) are both kept and delivered in order, and an
/// acknowledgement marks the oldest pending one.
/// The seam's split: `find` reports every record of the ids asked,
/// oldest first, each once, pulled or not; `mark` marks exactly the
/// positions it is given (here the newer of two pending records of
/// one id, which no ack would choose) and nothing else.
#[test]
fn find_reports_every_record_and_mark_marks_only_what_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    for store in local_stores(dir.path(), "f") {
        let q = Queue::new(store);
        let tier = q.tier();
        q.append(&rec("lost", "J", true)).unwrap();
        q.append(&rec("real", "J", false)).unwrap();
        q.append(&rec("other", "K", false)).unwrap();
        let ids = ["J", "nope", "K", "J"].map(String::from);
        let found = q.store.find(q.deadline(), &ids, &mut |_| false).unwrap();
        let hits: Vec<(String, bool)> = found
            .hits()
            .iter()
            .map(|h| (h.id.clone(), h.pulled))
            .collect();
        let want = [("J", false), ("J", false), ("K", false)].map(|(i, p)| (i.to_string(), p));
        assert_eq!(hits, want, "{tier}");
        let newer = found.hits()[1].pos;
        assert!(found.hits()[0].pos < newer, "{tier}: store order");
        found.mark(&[newer]).unwrap();
        assert_eq!(
            pending_names(&q),
            ["lost", "other"],
            "{tier}: only the position given"
        );
        // Once everything is pulled (the JSONL cursor then stands past
        // every record), pulled records are still found: an ack of
        // them is "nothing pending", not "no such record".
        q.pull(None, &mut |_| Ok(())).unwrap();
        let found = q
            .store
            .find(q.deadline(), &ids[..1], &mut |_| false)
            .unwrap();
        let pulled: Vec<bool> = found.hits().iter().map(|h| h.pulled).collect();
        assert_eq!(pulled, [true, true], "{tier}");
        drop(found);
        assert_eq!(q.ack(&ids[..1]).unwrap(), 0, "{tier}");
    }
}

/// An ack stops reading once every id has a pending record: the
/// rule's `every_id_pending`, handed to `find`, settles it; the file
/// reads no further (the second record of J and all after it are not
/// read), and the ack still reaches the oldest.
#[test]
fn an_ack_reads_no_further_than_its_decision() {
    let dir = tempfile::tempdir().unwrap();
    for store in local_stores(dir.path(), "d") {
        let q = Queue::new(store);
        let tier = q.tier();
        q.append(&rec("first", "J", false)).unwrap();
        q.append(&rec("second", "J", false)).unwrap();
        q.append(&rec("other", "K", false)).unwrap();
        let ids = ["K", "J"].map(String::from);
        let found = q
            .store
            .find(q.deadline(), &ids, &mut every_id_pending(&ids))
            .unwrap();
        let names: Vec<String> = found.hits().iter().map(|h| h.id.clone()).collect();
        drop(found);
        if tier == store::Tier::Jsonl {
            assert_eq!(names, ["J", "J", "K"], "{tier}: read to K, then stopped");
            let j = &ids[1..];
            let again = q.store.find(q.deadline(), j, &mut every_id_pending(j));
            let again = again.unwrap();
            assert_eq!(again.hits().len(), 1, "{tier}: J's first record settles it");
        } else {
            assert!(names.len() >= 3, "{tier}: {names:?}");
        }
        assert_eq!(q.ack(&ids[1..]).unwrap(), 1, "{tier}");
        assert_eq!(pending_names(&q), ["second", "other"], "{tier}");
    }
}

#[test]
fn records_sharing_an_id_are_both_kept_on_every_local_store() {
    let dir = tempfile::tempdir().unwrap();
    for store in local_stores(dir.path(), "q") {
        let q = Queue::new(store);
        let tier = q.tier();
        q.append(&rec("job", "J", true)).unwrap();
        q.append(&rec("job", "J", false)).unwrap();
        q.append(&rec("other", "K", false)).unwrap();
        assert_eq!(q.ack(&["J".into()]).unwrap(), 1, "{tier}");
        let mut got = Vec::new();
        q.pull(None, &mut |recs| {
            got.extend(recs.iter().map(|r| r.view.name.clone()));
            Ok(())
        })
        .unwrap();
        assert_eq!(got, ["job", "other"], "{tier}: the real record is left");
        assert_eq!(q.ack(&["J".into(), "K".into()]).unwrap(), 0, "{tier}");
        let e = q.ack(&["K".into(), "nope".into()]).unwrap_err();
        assert!(
            e.msg.contains("no record with id nope"),
            "{tier}: {}",
            e.msg
        );
        let mut n = 0;
        q.list(&Filter::default(), None, &mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 3, "{tier}: nothing dropped");
    }
}

/// A pull of many records goes slice by slice (each printed, then
/// marked), honours its limit across slices, and delivers each once.
#[test]
fn a_big_pull_goes_in_slices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.jsonl");
    let mut text = String::new();
    for i in 0..25_000 {
        text.push_str(&format!(
            "{{\"name\":\"j{i}\",\"status\":\"success\",\"pulled\":false}}\n"
        ));
    }
    std::fs::write(&path, text).unwrap();
    let q = Queue::new(Box::new(jsonl::JsonlQueue::new(path)));
    let mut calls = Vec::new();
    let n = q
        .pull(Some(12_000), &mut |recs| {
            calls.push(recs.len());
            Ok(())
        })
        .unwrap();
    assert_eq!((n, calls.clone()), (12_000, vec![10_000, 2_000]));
    calls.clear();
    let n = q
        .pull(None, &mut |recs| {
            calls.push(recs.len());
            Ok(())
        })
        .unwrap();
    assert_eq!((n, calls.clone()), (13_000, vec![10_000, 3_000]));
    let again = q.pull(None, &mut |_| Ok(())).unwrap();
    assert_eq!(again, 0, "nothing twice");
}

/// The names of the pending records, oldest first.
fn pending_names(q: &Queue) -> Vec<String> {
    let mut names = Vec::new();
    let f = Filter {
        pending: true,
        ..Filter::default()
    };
    q.list(&f, None, &mut |s| {
        names.push(s.view.name.clone());
        Ok(())
    })
    .unwrap();
    names
}

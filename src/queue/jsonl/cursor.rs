//! The pull cursor, `Q.cursor`: where the pending part of the queue file
//! begins, with enough of the file's identity that a cursor describing
//! another file (a legacy jq + mv rewrite, a compaction) is never trusted.
//! Format and rules: cq-queue(5), THE CURSOR.

use super::lines::Pos;
use crate::queue::files::side_path;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Bytes before the cursor's offset kept in the cursor to recognise the file.
const TAIL: u64 = 64;

/// Device, inode and creation time (ns; 0 where the file system has none).
pub fn identity(m: &fs::Metadata) -> (u64, u64, i64) {
    let born = m
        .created()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    (m.dev(), m.ino(), born)
}

fn tail_hex(f: &File, offset: u64) -> Option<String> {
    let n = offset.min(TAIL);
    let mut b = vec![0u8; n as usize];
    f.read_exact_at(&mut b, offset - n).ok()?;
    Some(b.iter().map(|c| format!("{c:02x}")).collect())
}

/// Where pulling may start: the stored cursor if it still describes this
/// file, else the beginning; and the cursor's witness (see [`store`]).
pub fn load(cursor: &Path, f: &File) -> (Pos, Option<u64>) {
    // Untrusted like every side file: a wrong cursor costs a full scan,
    // never a record, and a FIFO or a huge file here costs nothing.
    let Ok(Some(bytes)) = crate::queue::files::read_side_file(cursor, 4096) else {
        return (Pos::default(), None);
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return (Pos::default(), None);
    };
    let Ok(m) = f.metadata() else {
        return (Pos::default(), None);
    };
    let parts: Vec<&str> = text.split_whitespace().collect();
    let valid = || -> Option<(Pos, Option<u64>)> {
        // Version 1 had no witness; version 2 adds it.
        let witness = match (parts.first(), parts.get(1), parts.len()) {
            (Some(&"cq-cursor"), Some(&"1"), 8) => None,
            (Some(&"cq-cursor"), Some(&"2"), 9) if parts[8] == "-" => None,
            (Some(&"cq-cursor"), Some(&"2"), 9) => Some(parts[8].parse::<u64>().ok()?),
            _ => return None,
        };
        let (dev, ino, born) = identity(&m);
        let pos = Pos {
            offset: parts[5].parse().ok()?,
            lines: parts[6].parse().ok()?,
        };
        let same = parts[2].parse::<u64>().ok()? == dev
            && parts[3].parse::<u64>().ok()? == ino
            && parts[4].parse::<i64>().ok()? == born
            && pos.offset <= m.len()
            && (pos.offset == 0 || tail_hex(f, pos.offset)? == parts[7]);
        // A file rewritten in place from a copy taken before that flip
        // (`cat backup > Q`) reads `false` there: not this file's past.
        let witnessed = witness.is_none_or(|w| {
            let mut flag = [0u8; 5];
            w < pos.offset
                && f.read_exact_at(&mut flag, w).is_ok()
                && &flag == crate::record::PULLED_TRUE
        });
        (same && witnessed).then_some((pos, witness))
    };
    valid().unwrap_or_default()
}

/// Best effort: a lost or stale cursor costs a full scan, never a record.
/// The caller holds the exclusive lock. `witness` is the offset of the
/// last `"pulled":true ` flag a pull wrote below `pos`: a reader trusts the
/// cursor only while it still reads `true `, since every record before
/// `pos` was pulled once that flip was made.
pub fn store(cursor: &Path, f: &File, pos: Pos, witness: Option<u64>) {
    let Ok(m) = f.metadata() else { return };
    let (dev, ino, born) = identity(&m);
    let tail = if pos.offset == 0 {
        "-".to_string()
    } else {
        match tail_hex(f, pos.offset) {
            Some(t) => t,
            None => return,
        }
    };
    let witness = witness
        .filter(|&w| w < pos.offset)
        .map_or_else(|| "-".to_string(), |w| w.to_string());
    let text = format!(
        "cq-cursor 2 {dev} {ino} {born} {} {} {tail} {witness}\n",
        pos.offset, pos.lines
    );
    let tmp = side_path(cursor, ".tmp");
    let mut o = OpenOptions::new();
    o.write(true).truncate(true).create(true).mode(0o600);
    let ok = o
        .open(&tmp)
        .and_then(|mut t| t.write_all(text.as_bytes()))
        .and_then(|()| fs::rename(&tmp, cursor));
    if ok.is_err() {
        let _ = fs::remove_file(&tmp);
    }
}

//! Reading the queue file line by line from any offset, without buffering
//! more than one line (and not even that for a line over `MAX_LINE`), and
//! what a line holds.

use crate::record::Stored;
use crate::record::{self, LineError};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

/// Lines longer than this are reported and skipped without being buffered.
pub const MAX_LINE: usize = 16 << 20;

/// A line of the file: its place, and its bytes without the `\n`.
pub struct Line {
    pub offset: u64,
    pub lineno: u64,
    /// False for the last line when the file does not end in `\n`.
    pub complete: bool,
    pub too_long: bool,
}

/// Where reading starts: a byte offset at a line start, and that line's number - 1.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Pos {
    pub offset: u64,
    pub lines: u64,
}

pub struct LineReader {
    r: BufReader<File>,
    pub pos: Pos,
    pub buf: Vec<u8>,
}

impl LineReader {
    pub fn new(mut f: File, start: Pos) -> io::Result<Self> {
        f.seek(SeekFrom::Start(start.offset))?;
        Ok(Self {
            r: BufReader::with_capacity(64 << 10, f),
            pos: start,
            buf: Vec::new(),
        })
    }

    /// The next line, its bytes in `self.buf`.
    pub fn next(&mut self) -> io::Result<Option<Line>> {
        self.buf.clear();
        let offset = self.pos.offset;
        let mut len = 0u64;
        let mut too_long = false;
        let complete = loop {
            let chunk = self.r.fill_buf()?;
            if chunk.is_empty() {
                break false;
            }
            let (take, done) = match memchr(chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let data = if done { &chunk[..take - 1] } else { chunk };
            if self.buf.len() + data.len() <= MAX_LINE {
                self.buf.extend_from_slice(data);
            } else {
                too_long = true;
                self.buf.clear();
            }
            len += take as u64;
            self.r.consume(take);
            if done {
                break true;
            }
        };
        if len == 0 {
            return Ok(None);
        }
        self.pos.offset += len;
        self.pos.lines += 1;
        Ok(Some(Line {
            offset,
            lineno: self.pos.lines,
            complete,
            too_long,
        }))
    }
}

fn memchr(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// What one complete line holds. Lines are handled one at a time, so the
/// size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Parsed {
    Record(Stored),
    Bad(String),
    Blank,
}

pub fn parse(buf: &[u8], too_long: bool) -> Parsed {
    if too_long {
        return Parsed::Bad(format!("longer than {} MiB", MAX_LINE >> 20));
    }
    match record::parse_line(buf) {
        Ok(view) => {
            let start = record::bom_len(buf);
            let mut end = buf.len();
            while end > start && buf[end - 1] == b'\r' {
                end -= 1;
            }
            Parsed::Record(Stored {
                line: buf[start..end].to_vec(),
                view,
            })
        }
        Err(LineError::Blank) => Parsed::Blank,
        Err(e) => Parsed::Bad(e.to_string()),
    }
}

/// Copies `len` bytes from `offset` (a line too long to have been buffered).
pub fn copy_range(f: &File, mut offset: u64, len: u64, out: &mut impl Write) -> io::Result<()> {
    let end = offset + len;
    let mut buf = vec![0u8; (len.min(64 << 10)) as usize];
    while offset < end {
        let n = ((end - offset) as usize).min(buf.len());
        f.read_exact_at(&mut buf[..n], offset)?;
        out.write_all(&buf[..n])?;
        offset += n as u64;
    }
    Ok(())
}

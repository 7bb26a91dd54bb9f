//! `cq push`: the record of a job that already finished; with `--batch`,
//! of many, read from standard input.

use super::{Exit, Run, cwd, output_dir};
use crate::cli::PushArgs;
use crate::error::{Error, Result};
use crate::queue::{self, Where};
use crate::record::{self, NewRecord, Pushed, Status};
use crate::time;

impl Run for PushArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        let meta = record::parse_meta(&self.meta).map_err(Error::usage)?;
        if self.batch {
            return batch(&self, loc, meta);
        }
        let name = self.name.clone().unwrap_or_default();
        if name.is_empty() {
            return Err(Error::usage("the job name must not be empty"));
        }
        let (started_at, duration_ms) = started(self.started_at.as_deref())?;
        let status = match (self.exit_code, self.status) {
            (Some(c), _) => Status::of_exit(c),
            (None, Some(s)) => s,
            (None, None) => unreachable!("clap requires --exit-code or --status"),
        };
        let cwd = cwd()?;
        let dir = output_dir(self.output_dir.as_deref(), &cwd)?;
        record::check_job_text(&name, &dir, &cwd).map_err(Error::usage)?;
        let rec = NewRecord::pushed(Pushed {
            name,
            output_dir: dir,
            cwd,
            status,
            exit_code: self.exit_code,
            started_at,
            duration_ms,
            meta,
            session: crate::record::session_of_env(),
        });
        queue::open(loc)?.append(&rec.to_line())?;
        Ok(Exit::Code(0))
    }
}

/// `--started-at TS` as the record's `started_at` and `duration_ms`.
fn started(ts: Option<&str>) -> Result<(Option<String>, Option<u64>)> {
    match ts {
        Some(s) => {
            let ts = time::parse_timestamp(s)?;
            let ms = time::now().duration_since(ts).as_millis().max(0) as u64;
            Ok((Some(time::format(ts)), Some(ms)))
        }
        None => Ok((None, None)),
    }
}

/// One line of `--batch` input as a record, or why it is not one.
fn batch_record(
    line: &str,
    cwd: &str,
    dir: &str,
    meta: &serde_json::Map<String, serde_json::Value>,
) -> std::result::Result<NewRecord, String> {
    let Given {
        name,
        exit_code,
        status,
        out,
        started_at,
        mut extra,
    } = if line.starts_with('{') {
        given_json(line)?
    } else {
        given_words(line)?
    };
    if name.is_empty() {
        return Err("the job name must not be empty".into());
    }
    let status = match (exit_code, status) {
        (Some(c), Some(s)) if Status::of_exit(c) != s => {
            return Err(format!(
                "\"exit_code\":{c} and \"status\":\"{}\" contradict each other",
                s.as_str()
            ));
        }
        (Some(c), _) => Status::of_exit(c),
        (None, Some(s)) => s,
        (None, None) => return Err("neither \"exit_code\" nor \"status\"".into()),
    };
    let (started_at, duration_ms) = started(started_at.as_deref()).map_err(|e| e.msg)?;
    let mut all = meta.clone();
    all.append(&mut extra);
    let output_dir = match out {
        Some(o) => output_dir(Some(std::path::Path::new(&o)), cwd).map_err(|e| e.msg)?,
        None => dir.to_string(),
    };
    let cwd = cwd.to_string();
    record::check_job_text(&name, &output_dir, &cwd)?;
    Ok(NewRecord::pushed(Pushed {
        name,
        output_dir,
        cwd,
        status,
        exit_code,
        started_at,
        duration_ms,
        meta: all,
        session: crate::record::session_of_env(),
    }))
}

/// What a line of `--batch` gives.
struct Given {
    name: String,
    exit_code: Option<i32>,
    status: Option<Status>,
    out: Option<String>,
    started_at: Option<String>,
    extra: serde_json::Map<String, serde_json::Value>,
}

/// A JSON line: "name" and "exit_code" or "status", and if wanted
/// "output_dir", "started_at" and "meta" (strings).
fn given_json(line: &str) -> std::result::Result<Given, String> {
    use serde_json::Value;
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let name = v["name"].as_str().ok_or("no \"name\" string")?.to_string();
    let exit_code = match &v["exit_code"] {
        Value::Null => None,
        c => Some(
            c.as_i64()
                .filter(|c| (0..=255).contains(c))
                .ok_or("\"exit_code\" is not a number from 0 to 255")? as i32,
        ),
    };
    let status = match v["status"].as_str() {
        None => None,
        Some("success") => Some(Status::Success),
        Some("failure") => Some(Status::Failure),
        Some(other) => return Err(format!("unknown status '{other}'")),
    };
    let extra = match &v["meta"] {
        Value::Null => serde_json::Map::new(),
        Value::Object(m) if m.values().all(Value::is_string) => m.clone(),
        _ => return Err("\"meta\" is not an object of strings".into()),
    };
    Ok(Given {
        name,
        exit_code,
        status,
        out: v["output_dir"].as_str().map(str::to_string),
        started_at: v["started_at"].as_str().map(str::to_string),
        extra,
    })
}

/// A plain line: `NAME EXIT_CODE`.
fn given_words(line: &str) -> std::result::Result<Given, String> {
    let mut words = line.split_whitespace();
    let (Some(name), Some(code), None) = (words.next(), words.next(), words.next()) else {
        return Err("expected NAME EXIT_CODE or a JSON object".into());
    };
    let code: i32 = code
        .parse()
        .ok()
        .filter(|c| (0..=255).contains(c))
        .ok_or("the exit code is not a number from 0 to 255")?;
    Ok(Given {
        name: name.to_string(),
        exit_code: Some(code),
        status: None,
        out: None,
        started_at: None,
        extra: serde_json::Map::new(),
    })
}

/// `cq push --batch`: lines from stdin, appended in groups. A group is
/// written (durably, one sync) whenever the input read so far is used up,
/// or at 1,000 records: a producer that writes a line at a time gets each
/// record durable before cq waits for the next; a file or a fast pipe gets
/// few syncs. A bad line (not UTF-8, too long, not a record) is named on
/// stderr and skipped, the good ones kept; a line too long to be a record
/// is skipped without being held in memory.
fn batch(
    args: &PushArgs,
    loc: &queue::Location,
    meta: serde_json::Map<String, serde_json::Value>,
) -> Result<Exit> {
    let cwd = cwd()?;
    let dir = output_dir(args.output_dir.as_deref(), &cwd)?;
    let q = queue::open(loc)?;
    // Our own buffer over fd 0, so that "nothing left in it" is known.
    let fd = std::os::fd::AsFd::as_fd(&std::io::stdin())
        .try_clone_to_owned()
        .map_err(|e| Error::io("cannot read standard input", e))?;
    let mut input = std::io::BufReader::with_capacity(64 << 10, std::fs::File::from(fd));
    let mut group: Vec<String> = Vec::new();
    let (mut n, mut bad) = (0usize, 0usize);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = read_line(&mut input, &mut line, record::RECORD_MAX)
            .map_err(|e| Error::io(format!("cannot read standard input (line {})", n + 1), e))?;
        if let Some(len) = read {
            n += 1;
            let parsed = if len > record::RECORD_MAX {
                Some(Err(format!(
                    "{len} bytes, longer than the {} a record may be",
                    record::RECORD_MAX
                )))
            } else {
                match std::str::from_utf8(&line) {
                    Err(e) => Some(Err(format!(
                        "not UTF-8 (an invalid byte at column {})",
                        e.valid_up_to() + 1
                    ))),
                    Ok(text) => {
                        let text = text.trim();
                        (!text.is_empty()).then(|| batch_record(text, &cwd, &dir, &meta))
                    }
                }
            };
            match parsed {
                None => {}
                Some(Ok(rec)) => group.push(rec.to_line()),
                Some(Err(why)) => {
                    bad += 1;
                    crate::error::warn(&format!("standard input line {n}: {why}; skipped"));
                }
            }
        }
        let drained = read.is_none() || input.buffer().is_empty();
        if !group.is_empty() && (drained || group.len() >= 1000) {
            q.append_many(&group)?;
            group.clear();
        }
        if read.is_none() {
            break;
        }
    }
    Ok(Exit::Code(if bad > 0 {
        crate::error::code::ERROR
    } else {
        0
    }))
}

/// Reads one line (its `\n` dropped) into `buf`, keeping at most `max + 1`
/// bytes of it and consuming the rest unbuffered. Returns the line's whole
/// length, or `None` at the end of input.
fn read_line(
    input: &mut impl std::io::BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<usize>> {
    let mut len = 0usize;
    let mut any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(len));
        }
        any = true;
        let (part, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        let room = (max + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&part[..part.len().min(room)]);
        len += part.len();
        let used = end.unwrap_or(chunk.len());
        input.consume(used);
        if end.is_some() {
            return Ok(Some(len));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_line;

    #[test]
    fn lines_are_read_whole_or_cut_at_the_bound() {
        let text = b"short\nlonger line\n\nlast";
        let mut r = std::io::BufReader::with_capacity(4, &text[..]);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while let Some(len) = read_line(&mut r, &mut buf, 6).unwrap() {
            got.push((String::from_utf8(buf.clone()).unwrap(), len));
            buf.clear();
        }
        assert_eq!(
            got,
            [
                ("short".to_string(), 5),
                ("longer ".to_string(), 11),
                (String::new(), 0),
                ("last".to_string(), 4)
            ]
        );
    }
}

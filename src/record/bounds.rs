//! What a record may hold: the longest line cq writes, the longest name
//! and path, and how a command line or a meta value is cut to fit.

/// The longest record line cq writes, so that every reader reads every
/// record cq wrote: the file tier reads lines up to 16 MiB, and Kafka's
/// default message limit is 1 MB. Only a command line or `--meta` values
/// of hundreds of KiB come near it (the kernel takes 128 KiB per argument,
/// and any number of them under `ulimit -s unlimited`).
pub const RECORD_MAX: usize = 512 << 10;

/// The most a name may take in a record, and a path (`output_dir`, `cwd`,
/// `log`), as stored: JSON-escaped, where a control character takes six
/// bytes. Only `command` and `meta` can be cut to fit [`RECORD_MAX`]; a
/// name or path is the job's identity and is never cut, so one too long
/// is refused before anything is recorded (a 100 KiB name of plain text,
/// near the 128 KiB the kernel allows an argument, is fine). Together they
/// leave room for everything else.
pub const NAME_MAX: usize = 128 << 10;
pub const PATH_MAX: usize = 64 << 10;

/// Refuses a name or path that would take more than `max` bytes stored.
pub fn check_text(what: &str, s: &str, max: usize) -> Result<(), String> {
    let stored = json_len(s);
    if stored > max {
        return Err(format!(
            "{what} takes {stored} bytes in a record, more than {max}"
        ));
    }
    Ok(())
}

/// The door every new record passes: its name, `output_dir` and `cwd`
/// within their bounds.
pub fn check_job_text(name: &str, output_dir: &str, cwd: &str) -> Result<(), String> {
    check_text("the job name", name, NAME_MAX)?;
    check_text("the output directory", output_dir, PATH_MAX)?;
    check_text("the working directory", cwd, PATH_MAX)
}

/// Bytes of `s` inside a JSON string, escaped as serde_json writes it.
pub(super) fn json_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum()
}

/// A command line kept to `budget` bytes, each argument to `piece`, saying
/// what was cut. (The running job's file keeps one too: readers skip side
/// files over 4 MiB.)
pub fn cut_args(cmd: &[String], budget: usize, piece: usize) -> Vec<String> {
    let mut kept = Vec::new();
    let mut used = 0;
    for (i, a) in cmd.iter().enumerate() {
        let a = cut(a, piece);
        if used + a.len() > budget {
            kept.push(format!("…[cq: {} more arguments]", cmd.len() - i));
            break;
        }
        used += a.len();
        kept.push(a);
    }
    kept
}

/// Keeps at most `max` bytes of `s`, on a character boundary, saying how
/// much was cut.
pub(super) fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[cq: {} more bytes]", &s[..end], s.len() - end)
}
